"""Reports as CSV (for spreadsheets, ids kept) and a report page as a self-contained HTML
document with its PNG charts inline (what a report message links to)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from html import escape

from ingest.reports.models import ColdChainDay, DailyReadings, WeeklyUsage
from ingest.reports.pages import ReportPage
from ingest.reports.report_text import say

WEEKLY_COLUMNS = {
    "zh": [
        "设备",
        "名称",
        "类型",
        "楼栋",
        "单位",
        "本周用量",
        "上周用量",
        "变化%",
        "4周平均",
        "夜间基础用量/小时",
        "费用",
        "上级表",
        "未计量",
        "提示",
    ],
    "en": [
        "device",
        "name",
        "kind",
        "building",
        "unit",
        "consumption",
        "previous",
        "change %",
        "4-week average",
        "night baseline per hour",
        "cost",
        "parent meter",
        "unmetered",
        "anomalies",
    ],
}
DAILY_COLUMNS = {
    "zh": [
        "设备",
        "名称",
        "类型",
        "楼栋",
        "单位",
        "日初读数",
        "日末读数",
        "当日用量",
        "读数条数",
        "回落次数",
        "上级表",
        "提示",
    ],
    "en": [
        "device",
        "name",
        "kind",
        "building",
        "unit",
        "start reading",
        "end reading",
        "consumption",
        "readings",
        "resets",
        "parent meter",
        "anomalies",
    ],
}
COLD_COLUMNS = {
    "zh": [
        "设备",
        "名称",
        "类别",
        "楼栋",
        "下限",
        "上限",
        "最低",
        "最高",
        "平均",
        "超限分钟",
        "读数条数",
        "告警",
    ],
    "en": [
        "device",
        "name",
        "class",
        "building",
        "min limit",
        "max limit",
        "min",
        "max",
        "mean",
        "minutes out of range",
        "readings",
        "alerts",
    ],
}


# A text cell starting with one of these is a formula to spreadsheet programs (a device
# named "=HYPERLINK(...)"): it is written with a leading apostrophe, shown as text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """A value as a CSV cell: text that a spreadsheet would run as a formula is quoted."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A CSV a spreadsheet opens as UTF-8, formulas shown as text."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([csv_cell(v) for v in row] for row in rows)
    # A BOM so spreadsheet programs open the Chinese text as UTF-8.
    return "\ufeff" + out.getvalue()


def weekly_rows(report: WeeklyUsage) -> list[list[object]]:
    """One row per meter, in the column order of WEEKLY_COLUMNS."""
    return [
        [
            m.device,
            m.name,
            m.kind,
            m.building,
            m.unit,
            m.consumption,
            m.previous,
            m.change_pct,
            m.average_4w,
            m.night_baseline,
            m.cost,
            m.parent,
            m.unmetered,
            "; ".join(m.anomalies),
        ]
        for m in report.meters
    ]


def daily_rows(report: DailyReadings) -> list[list[object]]:
    """One row per meter, in the column order of DAILY_COLUMNS."""
    return [
        [
            m.device,
            m.name,
            m.kind,
            m.building,
            m.unit,
            m.start_reading,
            m.end_reading,
            m.consumption,
            m.readings,
            m.resets,
            m.parent,
            "; ".join(m.anomalies),
        ]
        for m in report.meters
    ]


def cold_rows(report: ColdChainDay) -> list[list[object]]:
    """One row per cold store, in the column order of COLD_COLUMNS."""
    return [
        [
            d.device,
            d.name,
            d.class_,
            d.building,
            d.limits[0],
            d.limits[1],
            d.min,
            d.max,
            d.mean,
            d.minutes_out_of_range,
            d.readings,
            d.alerts,
        ]
        for d in report.devices
    ]


def weekly_csv(report: WeeklyUsage, lang: str) -> str:
    """The weekly report as CSV."""
    return csv_text(WEEKLY_COLUMNS[lang], weekly_rows(report))


def daily_csv(report: DailyReadings, lang: str) -> str:
    """The daily readings as CSV."""
    return csv_text(DAILY_COLUMNS[lang], daily_rows(report))


def cold_chain_csv(report: ColdChainDay, lang: str) -> str:
    """The cold-chain log as CSV."""
    return csv_text(COLD_COLUMNS[lang], cold_rows(report))


def table_csv(report: WeeklyUsage | DailyReadings | ColdChainDay, lang: str) -> str:
    """Any report's table as CSV."""
    if isinstance(report, WeeklyUsage):
        return weekly_csv(report, lang)
    if isinstance(report, DailyReadings):
        return daily_csv(report, lang)
    return cold_chain_csv(report, lang)


# A phone page on its own (a message's link opens it without the console): the table
# becomes one card per row on a narrow screen, each cell labelled.
_STYLE = (
    "body{font-family:system-ui,'Noto Sans CJK SC','WenQuanYi Micro Hei',sans-serif;"
    "margin:0 auto;max-width:60em;padding:12px;color:#222;line-height:1.5}"
    "h1{font-size:1.3em}.hints{background:#fff4e0;border:1px solid #e0a030;border-radius:8px;"
    "padding:4px 12px}.hints h2{font-size:1em;margin:6px 0}"
    "img{width:100%;max-width:640px;height:auto;display:block}"
    "table{width:100%;border-collapse:collapse;font-size:15px}"
    "th,td{border-bottom:1px solid #ddd;padding:6px 8px;text-align:left}th{background:#f3f3f3}"
    "@media (max-width:640px){thead{display:none}table,tbody,tr,td{display:block;width:100%}"
    "tr{border:1px solid #ddd;border-radius:8px;margin:8px 0;padding:4px 0}"
    "td{border:0;padding:2px 10px;box-sizing:border-box}"
    "td::before{content:attr(data-label) '：';color:#666}td:empty{display:none}}"
)


def page_html(page: ReportPage, site: str) -> str:
    """A report page as one self-contained HTML document (charts inline)."""
    parts = [f"<h1>{escape(page.heading)}</h1><p>{escape(site)}</p>"]
    parts += [f"<p>{escape(line)}</p>" for line in page.summary]
    if page.hints:
        items = "".join(f"<li>{escape(hint)}</li>" for hint in page.hints)
        parts.append(
            f'<div class="hints"><h2>{escape(page.hints_title)}</h2><ul>{items}</ul></div>'
        )
    parts += [f'<img src="{escape(src)}" alt="{escape(alt)}">' for src, alt in page.charts]
    parts.append(_table(page) if page.rows else f"<p>{escape(page.empty)}</p>")
    return (
        f'<!DOCTYPE html><html lang="{say("html_lang", page.lang)}"><head>'
        '<meta charset="utf-8"><meta name="viewport" content="width=device-width">'
        f"<title>{escape(page.heading)}</title><style>{_STYLE}</style></head>"
        f"<body>{''.join(parts)}</body></html>"
    )


def _table(page: ReportPage) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in page.header)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td data-label="{escape(label)}">{escape(cell)}</td>'
            for label, cell in zip(page.header, row, strict=True)
        )
        + "</tr>"
        for row in page.rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
