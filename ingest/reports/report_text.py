"""People-facing report text in Simplified Chinese (default) and English."""

from __future__ import annotations

from campuswatch.i18n import DEVICE_WORDS, Catalogue

_TEXT = {
    "no_data": ("本周没有收到读数", "sent no readings this week"),
    "no_data_day": ("当日没有收到读数", "sent no readings that day"),
    "daily_use": ("{kind} {value:g} {unit}", "{kind} {value:g} {unit}"),
    "daily_top": ("用量最大：", "Biggest users:"),
    "daily_meter": ("· {name} {value:g} {unit}", "· {name} {value:g} {unit}"),
    "daily_hint": ("· {name}：{text}", "· {name}: {text}"),
    "gap": (
        "{start} 至 {end} 无数据（{hours} 小时），这段用量计入恢复后的第一小时",
        "no data {start} to {end} ({hours} h); that use is counted in the first hour after",
    ),
    "resets": (
        "表计读数回落 {count} 次（复位或换表），回落不计为负用量",
        "counter dropped {count} time(s) (reset or replaced meter); drops count as no use",
    ),
    "night": (
        "夜间基础用量 {value:g} {unit}/小时，是前 4 周平均（{normal:g}）的 {factor:.1f} 倍："
        "可能有设备未关",
        "night base load {value:g} {unit}/h is {factor:.1f}× the 4-week average ({normal:g}):"
        " equipment left on?",
    ),
    "night_new": (
        "夜间基础用量 {value:g} {unit}/小时，而前 4 周夜间为 0：可能有设备未关或漏水",
        "night base load {value:g} {unit}/h where the last 4 weeks had none: equipment left on"
        " or a leak?",
    ),
    "leak": (
        "连续 {hours} 小时用水从未停止（{start} 起）：疑似漏水",
        "water never stopped for {hours} h (from {start}): possible leak",
    ),
    "unmetered": (
        "分表合计 {children:g} {unit}，未计量 {rest:g} {unit}（{pct:.0f}%）："
        "可能有漏损或未装分表的用户",
        "sub-meters {children:g} {unit}, unmetered {rest:g} {unit} ({pct:.0f}%): losses, a leak"
        " or a load without a sub-meter?",
    ),
    "unmetered_rose": (
        "未计量 {rest:g} {unit}（{pct:.0f}%），前 4 周最少时 {usual:.0f}%：可能有漏损或新增的用户",
        "unmetered {rest:g} {unit} ({pct:.0f}%), at least {usual:.0f}% in the 4 weeks before:"
        " a loss, a leak or a new load?",
    ),
    "unmetered_negative": (
        "分表合计 {children:g} {unit} 超过总表 {parent:g} {unit}：请检查表计与 parent 标签",
        "sub-meters {children:g} {unit} exceed this meter's {parent:g} {unit}: check the meters"
        " and their parent tags",
    ),
    "jump_up": ("比上周增加 {pct:.0f}%", "{pct:.0f}% more than last week"),
    "jump_down": ("比上周减少 {pct:.0f}%", "{pct:.0f}% less than last week"),
    "cold_summary": (
        "{stores} 台冷藏/冷冻设备，{out} 台有超限，告警 {alerts} 次",
        "{stores} cold stores, {out} out of range, {alerts} alert(s)",
    ),
    "cold_out": (
        "· {name}：超限 {minutes} 分钟，最低 {min}°C，最高 {max}°C",
        "· {name}: {minutes} min out of range, min {min} °C, max {max} °C",
    ),
    "cold_silent": ("· {name}：全天无读数", "· {name}: no readings all day"),
    "versus_last_week": (
        "（上周 {before:.1f}，{pct:+.1f}%）",
        " (last week {before:.1f}, {pct:+.1f}%)",
    ),
    "hints": ("提示 {count} 条：", "{count} hint(s):"),
    "cost": ("费用 {value:.2f} {currency}", "cost {value:.2f} {currency}"),
    "html_lang": ("zh-CN", "en"),
    # Titles of reports, columns groups and classes.
    "title.electricity": ("用电", "Electricity"),
    "title.water": ("用水", "Water"),
    "title.this_week": ("本周", "this week"),
    "title.last_week": ("上周", "last week"),
    "title.per_day": ("每日用量（用量最大的 10 块表）", "Use per day (the 10 biggest meters)"),
    # The report pages (console and message), see pages.py.
    "report.weekly": ("一周一反馈", "Weekly usage"),
    "report.daily": ("每日抄表", "Daily readings"),
    "report.cold_chain": ("冷链记录", "Cold-chain log"),
    "report.week": ("{year}年第{n}周（{span}）", "{year} week {n} ({span})"),
    "report.span_month": ("{m}月{d1}日–{d2}日", "{m}/{d1}–{d2}"),
    "report.span": ("{m1}月{d1}日–{m2}月{d2}日", "{m1}/{d1}–{m2}/{d2}"),
    "report.day": ("{month}月{day}日", "{year}-{month}-{day}"),
    "report.money": ("{value} 元", "CNY {value}"),
    "report.total.electricity_kwh": ("用电", "Electricity"),
    "report.total.water_m3": ("用水", "Water"),
    "report.meters": ("共 {n} 块表", "{n} meters"),
    "report.minutes": ("{n} 分钟", "{n} min"),
    "report.hints": ("需要注意", "Worth a look"),
    "report.out_brief": (
        "{name}：超出 {limits} 共 {n} 分钟，每次都短于告警所需的持续时间，未报警",
        "{name}: outside {limits} for {n} min in all, each time shorter than an alarm needs",
    ),
    "report.out_alarmed": (
        "{name}：超出 {limits} 共 {n} 分钟，已报警",
        "{name}: outside {limits} for {n} min, alarmed",
    ),
    "report.cold_summary": (
        "{n} 台冷柜，{fine} 台全天正常",
        "{n} cold stores, {fine} fine all day",
    ),
    "report.none": ("这段时间没有数据。", "No data for this time."),
    "report.col.meter": ("表", "Meter"),
    "report.col.place": ("位置", "Place"),
    "report.col.use": ("用量", "Use"),
    "report.col.previous": ("上周", "Last week"),
    "report.col.change": ("变化", "Change"),
    "report.col.cost": ("费用", "Cost"),
    "report.col.parent": ("上级表", "Behind"),
    "report.col.start": ("日初读数", "Start"),
    "report.col.end": ("日末读数", "End"),
    "report.col.store": ("冷柜", "Cold store"),
    "report.col.range": ("应在", "Range"),
    "report.col.min_max": ("最低～最高", "Min–max"),
    "report.col.out": ("超出范围", "Out of range"),
    "report.col.alerts": ("告警", "Alerts"),
    **DEVICE_WORDS,
}
WORDS = Catalogue(_TEXT)


def say(key: str, lang: str, /, **values: object) -> str:
    """The report text ``key`` in ``lang`` with ``values`` filled in."""
    return WORDS.say(key, lang, **values)


def title(key: str, lang: str) -> str:
    """A report or label title in ``lang`` (unknown keys, e.g. a campus's own class, as is)."""
    return say(f"title.{key}", lang) if f"title.{key}" in WORDS else key
