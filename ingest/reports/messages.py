"""The short messages that deliver a report to a chat group or mailbox: key figures only."""

from __future__ import annotations

from ingest.reports.models import ColdChainDay, DailyReadings, MeterUsage, WeeklyUsage
from ingest.reports.pages import cold_chain_heading, daily_heading, weekly_heading
from ingest.reports.report_text import say, title
from ingest.reports.usage import top_level

MAX_LINES = 8  # the rest is on the linked page
TOP_USERS = 3  # per kind, in the daily message


def _kind_line(meters: list[MeterUsage], kind: str, lang: str) -> str | None:
    mine = [m for m in top_level(meters) if m.kind == kind and m.consumption is not None]
    if not mine:
        return None
    now = sum(m.consumption or 0.0 for m in mine)
    before = [m.previous for m in mine if m.previous is not None]
    unit = mine[0].unit
    line = f"{title(kind, lang)} {now:.1f} {unit}"
    if before and sum(before) > 0:
        pct = (now - sum(before)) / sum(before) * 100
        line += say("versus_last_week", lang, before=sum(before), pct=pct)
    return line


def weekly_message(report: WeeklyUsage, lang: str) -> tuple[str, str]:
    """Title and text announcing a weekly usage report."""
    lines = [
        line
        for kind in ("electricity", "water")
        if (line := _kind_line(report.meters, kind, lang)) is not None
    ]
    if "cost" in report.totals:
        cost = say("cost", lang, value=report.totals["cost"], currency=report.currency or "")
        lines.append(cost.rstrip())
    hints = [(m, a) for m in report.meters for a in m.anomalies]
    if hints:
        lines.append(say("hints", lang, count=len(hints)))
        lines.extend(f"· {m.name or m.device}: {a}" for m, a in hints[:MAX_LINES])
    return weekly_heading(report, lang), "\n".join(lines)


def cold_chain_message(report: ColdChainDay, lang: str) -> tuple[str, str]:
    """Title and text announcing a day's cold-chain log."""
    out = [d for d in report.devices if d.minutes_out_of_range > 0]
    silent = [d for d in report.devices if d.readings == 0]
    alerts = sum(d.alerts for d in report.devices)
    lines = [say("cold_summary", lang, stores=len(report.devices), out=len(out), alerts=alerts)]
    lines.extend(
        say(
            "cold_out",
            lang,
            name=d.name or d.device,
            minutes=d.minutes_out_of_range,
            min=d.min,
            max=d.max,
        )
        for d in out[:MAX_LINES]
    )
    lines.extend(say("cold_silent", lang, name=d.name or d.device) for d in silent[:MAX_LINES])
    return cold_chain_heading(report, lang), "\n".join(lines)


def daily_message(report: DailyReadings, lang: str) -> tuple[str, str]:
    """Title and text announcing the daily meter readings: each kind's use (top-level
    meters), the biggest users and every meter with a hint (no readings, a reset)."""
    lines: list[str] = []
    for kind in ("electricity", "water"):
        mine = [m for m in report.meters if m.kind == kind and m.consumption is not None]
        if not mine:
            continue
        total = sum(m.consumption or 0.0 for m in top_level(report.meters) if m.kind == kind)
        lines.append(
            say("daily_use", lang, kind=title(kind, lang), value=round(total, 3), unit=mine[0].unit)
        )
        biggest = sorted(mine, key=lambda m: m.consumption or 0.0, reverse=True)[:TOP_USERS]
        lines.append(say("daily_top", lang))
        lines.extend(
            say("daily_meter", lang, name=m.name or m.device, value=m.consumption, unit=m.unit)
            for m in biggest
        )
    hints = [(m, a) for m in report.meters for a in m.anomalies]
    if hints:
        lines.append(say("hints", lang, count=len(hints)))
        lines.extend(
            say("daily_hint", lang, name=m.name or m.device, text=a) for m, a in hints[:MAX_LINES]
        )
    return daily_heading(report, lang), "\n".join(lines)
