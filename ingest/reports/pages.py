"""The reports as pages people read (SPEC §9 v3), one model for the console's report pages
and the HTML a report message links to: a summary first (hints before numbers), charts
that fit, tables a phone shows as stacked cards; weeks and dates the Chinese way, money
in 元, places and classes in words. (JSON and CSV keep ids.)"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TypeVar

from ingest.config.places import Places
from ingest.reports.models import (
    ColdChainDay,
    DailyReading,
    DailyReadings,
    MeterUsage,
    WeeklyUsage,
)
from ingest.reports.report_text import WORDS, say
from ingest.reports.usage import parents_of

M = TypeVar("M", MeterUsage, DailyReading)


@dataclass
class ReportPage:
    """What ``report.html`` shows."""

    heading: str
    lang: str
    summary: list[str] = field(default_factory=list)
    hints: list[str] = field(default_factory=list)  # what needs a look, first
    charts: list[tuple[str, str]] = field(default_factory=list)  # (data URI, alt)
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)

    @property
    def hints_title(self) -> str:
        """The heading over the hints."""
        return say("report.hints", self.lang)

    @property
    def empty(self) -> str:
        """What the page says when it has no rows."""
        return say("report.none", self.lang)


def week_label(week: str, start: str, end: str, lang: str) -> str:
    """``2026年第48周（11月23日–29日）``: the end shown inclusive."""
    year, number = week.split("-W")
    first = date.fromisoformat(start[:10])
    last = date.fromisoformat(end[:10]) - timedelta(days=1)
    span = _span(first, last, lang)
    return say("report.week", lang, year=year, n=int(number), span=span)


def day_label(day: str, lang: str) -> str:
    """``11月23日``."""
    d = date.fromisoformat(day)
    return say("report.day", lang, month=d.month, day=d.day, year=d.year)


def _span(first: date, last: date, lang: str) -> str:
    if first.month == last.month:
        return say("report.span_month", lang, m=first.month, d1=first.day, d2=last.day)
    return say("report.span", lang, m1=first.month, d1=first.day, m2=last.month, d2=last.day)


def weekly_heading(report: WeeklyUsage, lang: str) -> str:
    """``一周一反馈 2026年第48周（11月23日–29日）``."""
    label = week_label(report.week, report.start, report.end, lang)
    return f"{say('report.weekly', lang)} {label}"


def daily_heading(report: DailyReadings, lang: str) -> str:
    """``每日抄表 11月23日``."""
    return f"{say('report.daily', lang)} {day_label(report.date, lang)}"


def cold_chain_heading(report: ColdChainDay, lang: str) -> str:
    """``冷链记录 11月23日``."""
    return f"{say('report.cold_chain', lang)} {day_label(report.date, lang)}"


def money(value: float | None, lang: str) -> str:
    """``1,434.12 元``."""
    return "" if value is None else say("report.money", lang, value=f"{value:,.2f}")


def number(value: float | None, digits: int = 1) -> str:
    """A reading with the same decimals everywhere."""
    return "" if value is None else f"{value:,.{digits}f}"


def weekly_page(
    report: WeeklyUsage, places: Places, lang: str, charts: dict[str, bytes]
) -> ReportPage:
    """The weekly usage: totals (a sub-meter is not counted twice), hints, charts, meters."""
    columns = ("meter", "place", "use", "previous", "change", "cost", "parent")
    page = ReportPage(
        heading=weekly_heading(report, lang),
        lang=lang,
        summary=[_totals(report, lang)],
        hints=[f"{m.name or m.device}：{hint}" for m in report.meters for hint in m.anomalies],
        charts=[(_png(png), alt) for alt, png in charts.items()],
        header=[say(f"report.col.{c}", lang) for c in columns],
    )
    names = {m.device: m.name or m.device for m in report.meters}
    for m in _parents_first(report.meters):
        change = "" if m.change_pct is None else f"{m.change_pct:+.1f}%"
        page.rows.append(
            [
                f"{m.name or m.device}（{WORDS.word('kind', m.kind, lang)}）",
                places.building(m.building) if m.building else "",
                f"{number(m.consumption)} {m.unit}".strip(),
                f"{number(m.previous)} {m.unit}".strip(),
                change,
                money(m.cost, lang),
                names.get(m.parent, m.parent) if m.parent else "",
            ]
        )
    return page


def _parents_first(meters: list[M]) -> list[M]:
    """Each meter followed by the meters behind it, as the totals see them (same site and
    kind; a parent naming no such meter, or in a loop, leaves a meter top-level)."""
    parents = parents_of(meters)
    children: dict[int, list[M]] = {}
    for m in meters:
        parent = parents.get(id(m))
        if parent is not None:
            children.setdefault(id(parent), []).append(m)
    ordered: list[M] = []

    def add(meter: M) -> None:
        ordered.append(meter)
        for child in children.get(id(meter), []):
            add(child)

    for m in meters:
        if id(m) not in parents:
            add(m)
    return ordered


def _totals(report: WeeklyUsage, lang: str) -> str:
    parts = []
    for key, value in report.totals.items():
        if key == "cost":
            parts.append(f"{say('report.col.cost', lang)} {money(value, lang)}")
        else:
            unit = "kWh" if key == "electricity_kwh" else "m³"
            parts.append(f"{say(f'report.total.{key}', lang)} {number(value)} {unit}")
    return " · ".join(parts)


def daily_page(report: DailyReadings, places: Places, lang: str) -> ReportPage:
    """Yesterday's meter readings: start, end and use of each meter."""
    columns = ("meter", "place", "start", "end", "use")
    page = ReportPage(
        heading=daily_heading(report, lang),
        lang=lang,
        summary=[say("report.meters", lang, n=len(report.meters))],
        hints=[f"{m.name or m.device}：{hint}" for m in report.meters for hint in m.anomalies],
        header=[say(f"report.col.{c}", lang) for c in columns],
    )
    for m in _parents_first(report.meters):
        page.rows.append(
            [
                f"{m.name or m.device}（{WORDS.word('kind', m.kind, lang)}）",
                places.building(m.building) if m.building else "",
                number(m.start_reading, 2),
                number(m.end_reading, 2),
                f"{number(m.consumption, 2)} {m.unit}".strip(),
            ]
        )
    return page


def cold_chain_page(
    report: ColdChainDay, places: Places, lang: str, chart: bytes | None
) -> ReportPage:
    """A day of every cold store: a line each first (out of range, and whether that was
    long enough for an alarm), the curves, then the numbers."""
    columns = ("store", "place", "range", "min_max", "out", "alerts")
    page = ReportPage(
        heading=cold_chain_heading(report, lang),
        lang=lang,
        summary=[],
        charts=[(_png(chart), say("report.cold_chain", lang))] if chart else [],
        header=[say(f"report.col.{c}", lang) for c in columns],
    )
    for d in report.devices:
        name = d.name or d.device
        low, high = d.limits
        limits = f"{number(low)}～{number(high)} ℃"
        if d.minutes_out_of_range:
            key = "report.out_alarmed" if d.alerts else "report.out_brief"
            page.hints.append(say(key, lang, name=name, n=d.minutes_out_of_range, limits=limits))
        page.rows.append(
            [
                f"{name}（{WORDS.word('class', d.class_, lang)}）",
                places.building(d.building) if d.building else "",
                limits,
                f"{number(d.min)}～{number(d.max)} ℃" if d.min is not None else "",
                say("report.minutes", lang, n=d.minutes_out_of_range),
                str(d.alerts),
            ]
        )
    stores = len(report.devices)
    fine = stores - len(page.hints)
    page.summary.append(say("report.cold_summary", lang, n=stores, fine=fine))
    return page


def _png(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()
