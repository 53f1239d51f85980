"""Titles and messages of notifications, in Chinese (default) or English.

A message names what happened, where (building, room and the device's name from its
meta), the value and for how long: "门未上锁：教学楼 101 后门，已持续 6 分钟".
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ingest.rules.model import Alert, EventState

_TITLES: dict[tuple[str, str | None], tuple[str, str]] = {
    ("door", "open"): ("门未关闭", "Door open"),
    ("door", "locked"): ("门未上锁", "Door unlocked"),
    ("door", "tamper"): ("门磁被拆动", "Door sensor tampered"),
    ("door", "battery"): ("门磁电量低", "Door sensor battery low"),
    ("smoke", "smoke"): ("烟雾报警", "Smoke alarm"),
    ("smoke", "fault"): ("烟感故障", "Smoke detector fault"),
    ("smoke", "battery_low"): ("烟感电量低", "Smoke detector battery low"),
    ("smoke", "tamper"): ("烟感被拆动", "Smoke detector tampered"),
    ("temperature", "celsius"): ("温度超限", "Temperature out of range"),
    ("temperature", "humidity"): ("湿度超限", "Humidity out of range"),
    ("electricity", None): ("用电异常", "Electricity anomaly"),
    ("water", None): ("用水异常", "Water anomaly"),
    ("camera", "online"): ("摄像头离线", "Camera offline"),
    ("camera", None): ("摄像头报警", "Camera alarm"),
    ("silent", None): ("设备无数据", "Device silent"),
    ("gateway_offline", None): ("网关离线", "Gateway offline"),
}
_PREFIX: dict[EventState, tuple[str, str]] = {
    "pending": ("", ""),
    "firing": ("", ""),
    "repeat": ("【仍未处理】", "[still open] "),
    "escalated": ("【升级】", "[escalated] "),
    "acknowledged": ("【已确认】", "[acknowledged] "),
    "resolved": ("【已恢复】", "[resolved] "),
}
_UNITS = {
    "celsius": "℃",
    "humidity": "%",
    "energy_kwh": " kWh",
    "power_w": " W",
    "voltage_v": " V",
    "current_a": " A",
    "volume_m3": " m³",
    "flow_m3h": " m³/h",
    "battery": "%",
    "cpu_temp_c": "℃",
}


def default_title(kind: str, field: str | None, lang: str) -> str:
    """The title of an alert on ``kind`` about ``field`` when the rule gives none."""
    pair = _TITLES.get((kind, field)) or _TITLES.get((kind, None))
    if pair is None:
        return "设备报警" if lang == "zh" else "Device alarm"
    return pair[0] if lang == "zh" else pair[1]


def format_duration(ms: int, lang: str) -> str:
    """A human duration: 6 分钟, 1 小时 5 分钟 / 6 min, 1 h 5 min."""
    minutes = max(0, ms) // 60_000
    days, rest = divmod(minutes, 1440)
    hours, minutes = divmod(rest, 60)
    names = ("天", "小时", "分钟") if lang == "zh" else ("d", "h", "min")
    parts = [f"{n} {name}" for n, name in zip((days, hours, minutes), names, strict=True) if n]
    if not parts:
        return "不到 1 分钟" if lang == "zh" else "under a minute"
    return " ".join(parts[:2])


def location(alert: Alert) -> str:
    """Building, room and device name: "教学楼 101 后门"."""
    parts = [alert.tags.get("building"), alert.tags.get("room"), alert.name or alert.device]
    return " ".join(p for p in parts if p)


def format_value(alert: Alert) -> str | None:
    """The alert's value with its unit, if it has one."""
    if alert.value is None or alert.field is None:
        return None
    return f"{alert.value:g}{_UNITS.get(alert.field, '')}"


def render(
    alert: Alert, state: EventState, lang: str, now_ms: int, note: str | None = None
) -> tuple[str, str]:
    """Title and message of a notification about ``alert`` entering ``state``."""
    zh = lang == "zh"
    prefix = _PREFIX[state][0 if zh else 1]
    title = f"{prefix}{alert.title}"
    sep = "：" if zh else ": "
    comma = "，" if zh else ", "
    parts = [location(alert)]
    value = format_value(alert)
    if value is not None:
        parts.append(f"当前 {value}" if zh else f"now {value}")
    duration = format_duration(now_ms - alert.since_ms, lang)
    if state == "resolved":
        parts.append(f"共持续 {duration}" if zh else f"lasted {duration}")
    else:
        parts.append(f"已持续 {duration}" if zh else f"for {duration}")
    if state == "acknowledged" and alert.acknowledged_by:
        ack = (
            f"已由 {alert.acknowledged_by} 确认"
            if zh
            else f"acknowledged by {alert.acknowledged_by}"
        )
        parts.append(f"{ack}{sep}{note}" if note else ack)
    return title, f"{alert.title}{sep}{comma.join(parts)}"


def iso_time(ms: int | None, timezone: str) -> str | None:
    """Epoch ms as ISO 8601 in the site timezone."""
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, ZoneInfo(timezone)).isoformat(timespec="seconds")


def notification_body(
    alert: Alert,
    state: EventState,
    *,
    lang: str,
    timezone: str,
    now_ms: int,
    note: str | None = None,
) -> dict[str, Any]:
    """The SPEC §5 webhook body; every channel formats its message from it."""
    title, message = render(alert, state, lang, now_ms, note)
    return {
        "alert_id": alert.id,
        "rule": alert.rule,
        "device": alert.device,
        "gateway": alert.gateway,
        "name": alert.name,
        "site": alert.site,
        "severity": alert.severity,
        "state": state,
        "title": title,
        "message": message,
        "value": alert.value,
        "started_at": iso_time(alert.since_ms, timezone),
        "tags": alert.tags,
    }
