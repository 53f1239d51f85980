"""Report charts as PNG, drawn server-side with matplotlib in a CJK-capable font.

Only the object API (``Figure`` + Agg canvas) is used, never pyplot, so charts can be
drawn from API worker threads and the scheduler at the same time.
"""

from __future__ import annotations

import io
import logging
from functools import cache

import matplotlib as mpl
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from ingest.reports.cold_chain import Curve, Curves
from ingest.reports.models import ColdChainDay, ColdChainDevice, WeeklyUsage

log = logging.getLogger(__name__)

# Fonts that cover Simplified Chinese, best first (Debian: fonts-noto-cjk, fonts-wqy-*).
CJK_FONTS = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Droid Sans Fallback",
    "SimHei",
    "Microsoft YaHei",
    "PingFang SC",
)
MAX_BARS = 30


@cache
def cjk_font() -> str | None:
    """The first installed font of CJK_FONTS, or None (Chinese then shows as boxes)."""
    installed = {f.name for f in font_manager.fontManager.ttflist}
    for name in CJK_FONTS:
        if name in installed:
            return name
    log.warning(
        "no Chinese font found for report charts; install fonts-wqy-microhei or fonts-noto-cjk"
    )
    return None


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


@cache
def _configure() -> None:
    """Point matplotlib at the CJK font once (process-wide; only reports draw charts)."""
    font = cjk_font()
    mpl.rcParams["font.family"] = [font, "DejaVu Sans"] if font else ["DejaVu Sans"]
    mpl.rcParams["axes.unicode_minus"] = False  # the CJK fonts lack U+2212
    # Names come from devices: "$…$" in one must be text, not mathtext (which fails on
    # anything it cannot parse and would take the whole report down).
    mpl.rcParams["text.parse_math"] = False


def weekly_chart(report: WeeklyUsage, kind: str, title: str, labels: tuple[str, str, str]) -> bytes:
    """Bars of this week vs last per meter (the biggest 30) and a line of each day's use."""
    meters = [m for m in report.meters if m.kind == kind and m.consumption is not None]
    meters.sort(key=lambda m: m.consumption or 0.0, reverse=True)
    meters = meters[:MAX_BARS]
    _configure()
    figure = Figure(figsize=(10, 7), dpi=100, layout="constrained")
    bars, days = figure.subplots(2, 1)
    names = [m.name or m.device for m in meters]
    positions = range(len(meters))
    bars.bar(
        [p - 0.2 for p in positions], [m.consumption or 0 for m in meters], 0.4, label=labels[0]
    )
    bars.bar(
        [p + 0.2 for p in positions],
        [m.previous or 0 for m in meters],
        0.4,
        label=labels[1],
        color="#bbbbbb",
    )
    bars.set_xticks(list(positions), names, rotation=45, ha="right", fontsize=8)
    bars.set_title(title)
    bars.set_ylabel(meters[0].unit if meters else "")
    bars.legend()
    for meter in meters[:10]:
        days.plot(
            [d[5:] for d in report.days],
            [v or 0 for v in meter.daily],
            marker="o",
            label=meter.name or meter.device,
        )
    days.set_title(labels[2])
    days.set_ylabel(meters[0].unit if meters else "")
    days.legend(fontsize=7, ncols=2)
    days.grid(alpha=0.3)
    for ax in (bars, days):
        ax.set_ylim(bottom=0)  # use is never negative: no axis below zero, no "-0"
        ax.yaxis.set_major_formatter(FuncFormatter(_number))
    return _png(figure)


def cold_chain_chart(
    report: ColdChainDay, curves: Curves, title: str, class_titles: dict[str, str]
) -> bytes:
    """The cold-chain chart as PNG (see cold_chain_figure)."""
    return _png(cold_chain_figure(report, curves, title, class_titles))


def cold_chain_figure(
    report: ColdChainDay, curves: Curves, title: str, class_titles: dict[str, str]
) -> Figure:
    """Each cold store's day (hours 0-24), one panel per class: the 5-minute mean as a
    line over the band of the lowest to highest reading, readings out of range as red
    dots, the limits dashed; the axis covers every reading and both limits."""
    classes = sorted({d.class_ for d in report.devices}) or ["-"]
    _configure()
    figure = Figure(figsize=(10, 3 * len(classes)), dpi=100, layout="constrained")
    axes = figure.subplots(len(classes), 1, squeeze=False)[:, 0]
    for ax, klass in zip(axes, classes, strict=True):
        devices = [d for d in report.devices if d.class_ == klass]
        for device in devices:
            curve = curves.get((device.site, device.gateway, device.device))
            if curve is not None and curve.hours:
                _draw_store(ax, curve, device.name or device.device)
        limits = {limit for d in devices for limit in d.limits if limit is not None}
        for limit in limits:
            ax.axhline(limit, color="#d62728", linestyle="--", linewidth=0.8)
        _cover(ax, devices, curves, limits)
        ax.set_title(f"{title} · {class_titles.get(klass, klass)}")
        ax.set_xlim(0, 24)
        ax.set_xticks(range(0, 25, 3))
        ax.set_ylabel("°C")
        ax.yaxis.set_major_formatter(FuncFormatter(_number))
        ax.grid(alpha=0.3)
        if any(not line.get_label().startswith("_") for line in ax.lines):  # not the limits
            ax.legend(fontsize=7, ncols=3)
    return figure


def _draw_store(ax: Axes, curve: Curve, label: str) -> None:
    (line,) = ax.plot(curve.hours, curve.mean, linewidth=1, label=label)
    ax.fill_between(
        curve.hours, curve.low, curve.high, color=line.get_color(), alpha=0.25, linewidth=0
    )
    if curve.outside:
        ax.scatter(
            [p[0] for p in curve.outside],
            [p[1] for p in curve.outside],
            s=8,
            color="#d62728",
            zorder=3,
        )


def _cover(ax: Axes, devices: list[ColdChainDevice], curves: Curves, limits: set[float]) -> None:
    """Let the y axis hold every reading and every limit, with a margin."""
    values = set(limits)
    for d in devices:
        curve = curves.get((d.site, d.gateway, d.device))
        if curve is not None:
            values.update(curve.low + curve.high)
    if not values:
        return
    low, high = min(values), max(values)
    margin = max(0.5, (high - low) * 0.08)
    ax.set_ylim(low - margin, high + margin)


def _number(value: float, _position: int) -> str:
    """An axis label without "-0" (adding 0.0 turns -0.0 into 0.0)."""
    return f"{round(value, 1) + 0.0:g}"
