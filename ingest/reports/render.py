"""Reports as CSV (for spreadsheets) and as a self-contained HTML page with PNG charts."""

from __future__ import annotations

import base64
import csv
import io
from collections.abc import Iterable, Sequence
from html import escape

from ingest.reports.cold_chain import Curves
from ingest.reports.models import ColdChainDay, DailyReadings, WeeklyUsage
from ingest.reports.report_text import say, title

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


def totals_line(report: WeeklyUsage, lang: str) -> str:
    """``用电 1515.3 kWh · 用水 77.6 m³ · 费用 1434.12 CNY``."""
    units = {"electricity_kwh": "kWh", "water_m3": "m³", "cost": report.currency or ""}
    return " · ".join(
        f"{title(key, lang)} {value:g} {units.get(key, '')}".rstrip()
        for key, value in report.totals.items()
    )


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


def _csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
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
    return _csv(WEEKLY_COLUMNS[lang], weekly_rows(report))


def daily_csv(report: DailyReadings, lang: str) -> str:
    """The daily readings as CSV."""
    return _csv(DAILY_COLUMNS[lang], daily_rows(report))


def cold_chain_csv(report: ColdChainDay, lang: str) -> str:
    """The cold-chain log as CSV."""
    return _csv(COLD_COLUMNS[lang], cold_rows(report))


def _table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape('' if v is None else str(v))}</td>" for v in row) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode()
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{data}">'


def _page(heading: str, site: str, parts: Iterable[str], lang: str) -> str:
    return (
        f'<!DOCTYPE html><html lang="{say("html_lang", lang)}"><head>'
        '<meta charset="utf-8"><meta name="viewport" content="width=device-width">'
        f"<title>{escape(heading)}</title><style>"
        "body{font-family:system-ui,'Noto Sans CJK SC','WenQuanYi Micro Hei',sans-serif;"
        "margin:1.5em;color:#222}table{border-collapse:collapse;font-size:14px;margin:1em 0}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}th{background:#f3f3f3}"
        "img{max-width:100%}</style></head><body>"
        f"<h1>{escape(heading)}</h1><p>{escape(site)}</p>{''.join(parts)}</body></html>"
    )


def weekly_html(report: WeeklyUsage, site: str, lang: str) -> str:
    """The weekly report page: totals, charts per kind, the meter table."""
    from ingest.reports.charts import weekly_chart  # noqa: PLC0415 (matplotlib is slow to load)

    heading = f"{title('weekly', lang)} {report.week}"
    totals = totals_line(report, lang)
    parts = [f"<p>{escape(report.start[:10])} – {escape(report.end[:10])} · {escape(totals)}</p>"]
    labels = (title("this_week", lang), title("last_week", lang), title("per_day", lang))
    for kind in ("electricity", "water"):
        if any(m.kind == kind and m.consumption is not None for m in report.meters):
            chart_title = f"{title(kind, lang)} {report.week}"
            parts.append(_img(weekly_chart(report, kind, chart_title, labels), chart_title))
    parts.append(_table(WEEKLY_COLUMNS[lang], weekly_rows(report)))
    return _page(heading, site, parts, lang)


def daily_html(report: DailyReadings, site: str, lang: str) -> str:
    """The daily readings page."""
    heading = f"{title('daily', lang)} {report.date}"
    return _page(heading, site, [_table(DAILY_COLUMNS[lang], daily_rows(report))], lang)


def cold_chain_html(report: ColdChainDay, curves: Curves, site: str, lang: str) -> str:
    """The cold-chain page: temperature curves per class and the table."""
    from ingest.reports.charts import cold_chain_chart  # noqa: PLC0415

    heading = f"{title('cold_chain', lang)} {report.date}"
    classes = {d.class_: title(d.class_, lang) for d in report.devices}
    chart = _img(cold_chain_chart(report, curves, title("cold_chain", lang), classes), heading)
    return _page(heading, site, [chart, _table(COLD_COLUMNS[lang], cold_rows(report))], lang)
