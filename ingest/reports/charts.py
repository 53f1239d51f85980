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
from ingest.reports.report_text import title

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
# Phone first: drawn 5 inches wide, a phone shows it about 330 px wide, so a point of font
# is about 0.9 px there; 13 pt reads as the page's small print. 160 dpi keeps it sharp on
# a phone's 2x screen and on the duty-room PC (the pages cap it at 640 px).
WIDTH_IN, DPI, FONT_PT = 5.0, 160, 13


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
    mpl.rcParams["font.size"] = FONT_PT
    mpl.rcParams["legend.fontsize"] = FONT_PT - 2


def weekly_charts(report: WeeklyUsage, lang: str) -> dict[str, bytes]:
    """The weekly page's charts by their title: one per kind of meter that counted use."""
    labels = (title("this_week", lang), title("last_week", lang), title("per_day", lang))
    return {
        title(kind, lang): weekly_chart(report, kind, title(kind, lang), labels)
        for kind in ("electricity", "water")
        if any(m.kind == kind and m.consumption is not None for m in report.meters)
    }


def weekly_chart(report: WeeklyUsage, kind: str, title: str, labels: tuple[str, str, str]) -> bytes:
    """This week against last per meter as bars across (names readable on a phone, the
    biggest 30), then each day's use of the biggest 10 as lines."""
    meters = [m for m in report.meters if m.kind == kind and m.consumption is not None]
    meters.sort(key=lambda m: m.consumption or 0.0, reverse=True)
    meters = meters[:MAX_BARS]
    unit = meters[0].unit if meters else ""
    _configure()
    bars_in = 1.2 + 0.6 * len(meters)
    figure = Figure(figsize=(WIDTH_IN, bars_in + 3.6), dpi=DPI, layout="constrained")
    bars, days = figure.subplots(2, 1, height_ratios=[bars_in, 3.6])
    names = [m.name or m.device for m in meters]
    rows = range(len(meters))
    bars.barh([r - 0.2 for r in rows], [m.consumption or 0 for m in meters], 0.4, label=labels[0])
    bars.barh(
        [r + 0.2 for r in rows],
        [m.previous or 0 for m in meters],
        0.4,
        label=labels[1],
        color="#bbbbbb",
    )
    bars.set_yticks(list(rows), names)
    bars.invert_yaxis()  # the biggest on top
    bars.set_title(title, pad=30)  # room for the legend between title and bars
    bars.set_xlabel(unit)
    bars.legend(ncols=2, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    for meter in meters[:10]:
        days.plot(
            [d[5:].replace("-", "/") for d in report.days],
            [v or 0 for v in meter.daily],
            marker="o",
            label=meter.name or meter.device,
        )
    days.set_title(labels[2])
    days.set_ylabel(unit)
    days.tick_params(axis="x", labelrotation=45)
    days.legend(ncols=2)
    days.grid(alpha=0.3)
    bars.set_xlim(left=0)  # use is never negative: no axis below zero, no "-0"
    days.set_ylim(bottom=0)
    bars.xaxis.set_major_formatter(FuncFormatter(_number))
    days.yaxis.set_major_formatter(FuncFormatter(_number))
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
    figure = Figure(figsize=(WIDTH_IN, 3.6 * len(classes)), dpi=DPI, layout="constrained")
    figure.suptitle(title)  # the chart also travels alone, as a chat group's image
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
        ax.set_title(class_titles.get(klass, klass))
        ax.set_xlim(0, 24)
        ax.set_xticks(range(0, 25, 6), [f"{h}:00" for h in range(0, 25, 6)])
        ax.set_ylabel("°C")
        ax.yaxis.set_major_formatter(FuncFormatter(_number))
        ax.grid(alpha=0.3)
        if any(not line.get_label().startswith("_") for line in ax.lines):  # not the limits
            ax.legend(ncols=2)
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
