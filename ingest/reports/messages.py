"""The short messages that deliver a report to a chat group or mailbox: key figures only."""

from __future__ import annotations

from ingest.reports.models import ColdChainDay, MeterUsage, WeeklyUsage
from ingest.reports.render import title

MAX_LINES = 8  # the rest is on the linked page


def _kind_line(meters: list[MeterUsage], kind: str, lang: str) -> str | None:
    mine = [m for m in meters if m.kind == kind and m.consumption is not None]
    if not mine:
        return None
    now = sum(m.consumption or 0.0 for m in mine)
    before = [m.previous for m in mine if m.previous is not None]
    unit = mine[0].unit
    line = f"{title(kind, lang)} {now:.1f} {unit}"
    if before and sum(before) > 0:
        pct = (now - sum(before)) / sum(before) * 100
        line += (
            f"（上周 {sum(before):.1f}，{pct:+.1f}%）"
            if lang == "zh"
            else (f" (last week {sum(before):.1f}, {pct:+.1f}%)")
        )
    return line


def weekly_message(report: WeeklyUsage, lang: str) -> tuple[str, str]:
    """Title and text announcing a weekly usage report."""
    lines = [
        line
        for kind in ("electricity", "water")
        if (line := _kind_line(report.meters, kind, lang)) is not None
    ]
    if "cost" in report.totals:
        label = "费用" if lang == "zh" else "cost"
        lines.append(f"{label} {report.totals['cost']:.2f} {report.currency or ''}".rstrip())
    hints = [(m, a) for m in report.meters for a in m.anomalies]
    if hints:
        lines.append(f"提示 {len(hints)} 条：" if lang == "zh" else f"{len(hints)} hint(s):")
        lines.extend(f"· {m.name or m.device}: {a}" for m, a in hints[:MAX_LINES])
    return f"{title('weekly', lang)} {report.week}", "\n".join(lines)


def cold_chain_message(report: ColdChainDay, lang: str) -> tuple[str, str]:
    """Title and text announcing a day's cold-chain log."""
    out = [d for d in report.devices if d.minutes_out_of_range > 0]
    silent = [d for d in report.devices if d.readings == 0]
    alerts = sum(d.alerts for d in report.devices)
    if lang == "zh":
        lines = [f"{len(report.devices)} 台冷藏/冷冻设备，{len(out)} 台有超限，告警 {alerts} 次"]
        lines.extend(
            f"· {d.name or d.device}：超限 {d.minutes_out_of_range} 分钟，"
            f"最低 {d.min}°C，最高 {d.max}°C"
            for d in out[:MAX_LINES]
        )
        lines.extend(f"· {d.name or d.device}：全天无读数" for d in silent[:MAX_LINES])
    else:
        lines = [f"{len(report.devices)} cold stores, {len(out)} out of range, {alerts} alert(s)"]
        lines.extend(
            f"· {d.name or d.device}: {d.minutes_out_of_range} min out of range,"
            f" min {d.min} °C, max {d.max} °C"
            for d in out[:MAX_LINES]
        )
        lines.extend(f"· {d.name or d.device}: no readings all day" for d in silent[:MAX_LINES])
    return f"{title('cold_chain', lang)} {report.date}", "\n".join(lines)
