"""The words of alerts: titles, messages and labels, in Chinese (default) or English.

A message names what happened, where (building, room and the device's name from its
meta), the value and for how long: "门未上锁：教学楼 101 后门，已持续 6 分钟". Channels
format their messages from the body :func:`notification_body` makes, with the labels here.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from campuswatch.clock import local_time
from campuswatch.i18n import Catalogue
from ingest.config.places import Places
from ingest.rules.model import Alert, EventState

WORDS = Catalogue(
    {
        # Default titles by kind and field (``title.KIND`` when no field-specific one).
        "title.door.open": ("门未关闭", "Door open"),
        "title.door.locked": ("门未上锁", "Door unlocked"),
        "title.door.tamper": ("门磁被拆动", "Door sensor tampered"),
        "title.door.battery": ("门磁电量低", "Door sensor battery low"),
        "title.smoke.smoke": ("烟雾报警", "Smoke alarm"),
        "title.smoke.fault": ("烟感故障", "Smoke detector fault"),
        "title.smoke.battery_low": ("烟感电量低", "Smoke detector battery low"),
        "title.smoke.tamper": ("烟感被拆动", "Smoke detector tampered"),
        "title.leak.leak": ("漏水报警", "Water leak"),
        "title.leak.battery": ("漏水传感器电量低", "Leak sensor battery low"),
        "title.panic.pressed": ("一键报警", "Panic button pressed"),
        "title.panic.battery": ("紧急按钮电量低", "Panic button battery low"),
        "title.motion.motion": ("有人活动", "Motion detected"),
        "title.motion.battery": ("人体传感器电量低", "Motion sensor battery low"),
        "title.temperature.celsius": ("温度超限", "Temperature out of range"),
        "title.temperature.humidity": ("湿度超限", "Humidity out of range"),
        "title.electricity": ("用电异常", "Electricity anomaly"),
        "title.water": ("用水异常", "Water anomaly"),
        "title.camera.online": ("摄像头离线", "Camera offline"),
        "title.camera": ("摄像头报警", "Camera alarm"),
        "title.silent": ("设备无数据", "Device silent"),
        "title.gateway_offline": ("网关离线", "Gateway offline"),
        "title.round_missed": ("巡逻漏检", "Round missed"),
        "title.sample_excursion": ("留样柜温度超出范围", "Food samples out of range"),
        "title.any": ("设备报警", "Device alarm"),
        # Prefixes of the title by lifecycle step.
        "prefix.repeat": ("【仍未处理】", "[still open] "),
        "prefix.escalated": ("【升级】", "[escalated] "),
        "prefix.acknowledged": ("【已确认】", "[acknowledged] "),
        "prefix.resolved": ("【已恢复】", "[resolved] "),
        "prefix.ended": ("【已结束】", "[ended] "),
        "prefix.schedule_end": ("【时段结束】", "[hours over] "),
        "prefix.late": ("【补报】", "[late] "),
        "prefix.edge": ("【网关已报】", "[told by the gateway] "),
        # A critical condition that began and ended inside a gateway's backlog (SPEC §5).
        "late_span": (
            "发生于 {start} 至 {end}，网关恢复连接后补报",
            "happened from {start} to {end}, reported when the gateway reconnected",
        ),
        # An alarm the gateway told its own channels of while cut off (SPEC §12).
        "edge_told": (
            "网关 {gateway} 连不上中心时已于 {time} 直接通知，中心现补记",
            "gateway {gateway} told its own channels at {time} while cut off from the server",
        ),
        "edge_span": ("发生于 {start} 至 {end}", "happened from {start} to {end}"),
        "still_at": (
            "{time} 时段结束时仍未恢复",
            "still so at {time}, when the rule's hours ended",
        ),
        # Why an alert ended while its condition may still hold (the note of its end).
        "reason.rule_removed": ("规则已从配置中删除", "rule removed from the configuration"),
        "reason.device_removed": (
            "设备已从网关的设备列表中移除，不再监测",
            "the device was removed from its gateway's device list and is no longer watched",
        ),
        "reason.gateway_removed": (
            "网关已停用（其设备列表已清除），不再监测",
            "the gateway was taken out of service (its device list cleared)",
        ),
        "reason.no_longer_matches": (
            "设备的标签已改变，不再适用此规则，不再监测",
            "the device's tags changed, the rule no longer applies and it is no longer watched",
        ),
        "unrecorded": (
            "注意：服务器磁盘已满，此报警未能记录，请到值班台核对并尽快清理磁盘",
            "Note: the server's disk is full and this alarm could not be recorded",
        ),
        "ended_because": ("结束原因：{reason}", "ended because {reason}"),
        # Message parts.
        "sep": ("：", ": "),
        "comma": ("，", ", "),
        "now": ("当前 {value}", "now {value}"),
        "now_of": ("当前{label} {value}", "{label} now {value}"),
        "for": ("已持续 {duration}", "for {duration}"),
        "lasted": ("共持续 {duration}", "lasted {duration}"),
        "just_began": ("刚刚发生", "for under a minute"),
        "brief": ("持续不到 1 分钟", "lasted under a minute"),
        "field.persons": ("人数", "persons"),
        "field.motion": ("有人活动", "motion"),
        "acknowledged_by": ("已由 {name} 确认", "acknowledged by {name}"),
        "under_a_minute": ("不到 1 分钟", "under a minute"),
        "unit.d": ("天", "d"),
        "unit.h": ("小时", "h"),
        "unit.min": ("分钟", "min"),
    }
)
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


def say(key: str, lang: str, /, **values: object) -> str:
    """Alert text ``key`` in ``lang`` with ``values`` filled in."""
    return WORDS.say(key, lang, **values)


def default_title(kind: str, field: str | None, lang: str) -> str:
    """The title of an alert on ``kind`` about ``field`` when the rule gives none."""
    for key in (f"title.{kind}.{field}", f"title.{kind}", "title.any"):
        if key in WORDS:
            return say(key, lang)
    raise AssertionError("title.any is always there")


def format_duration(ms: int, lang: str) -> str:
    """A human duration: 6 分钟, 1 小时 5 分钟 / 6 min, 1 h 5 min."""
    minutes = max(0, ms) // 60_000
    days, rest = divmod(minutes, 1440)
    hours, minutes = divmod(rest, 60)
    parts = [
        f"{n} {say(unit, lang)}"
        for n, unit in zip((days, hours, minutes), ("unit.d", "unit.h", "unit.min"), strict=True)
        if n
    ]
    return " ".join(parts[:2]) if parts else say("under_a_minute", lang)


def location(alert: Alert, places: Places) -> str:
    """Building, room and device name, as people read them: "主楼 小一班教室 后门"."""
    return " ".join(p for p in (places.where(alert.tags), alert.name or alert.device) if p)


def format_value(alert: Alert) -> str | None:
    """The alert's value with its unit, if it has one."""
    if alert.value is None or alert.field is None:
        return None
    return f"{alert.value:g}{_UNITS.get(alert.field, '')}"


def render(
    alert: Alert,
    state: EventState,
    lang: str,
    now_ms: int,
    note: str | None = None,
    *,
    timezone: str,
    places: Places,
    ending: str | None = None,
) -> tuple[str, str]:
    """Title and message of a notification about ``alert`` entering ``state``.

    ``ending`` names why a resolved alert ended when its condition may still hold
    (``schedule_end``: the rule's hours are over; otherwise a ``note`` says why).
    """
    title = _prefix(state, note, ending, lang) + alert.title
    parts = [location(alert, places)]
    value = format_value(alert)
    if value is not None:
        label = f"field.{alert.field}"
        if alert.field not in _UNITS and label in WORDS:  # "当前 1" says nothing
            parts.append(say("now_of", lang, label=say(label, lang), value=value))
        else:
            parts.append(say("now", lang, value=value))
    over = state in ("late", "edge") and alert.state == "resolved"
    if over:  # told once it was over: when it happened
        start, end = (clock_time(ms, timezone) for ms in (alert.since_ms, alert.resolved_ms))
        parts.append(say(f"{state}_span", lang, start=start, end=end))
    else:
        lasted = now_ms - alert.since_ms
        if lasted < 60_000:  # not "已持续 不到 1 分钟"
            parts.append(say("brief" if state == "resolved" else "just_began", lang))
        else:
            duration = format_duration(lasted, lang)
            parts.append(say("lasted" if state == "resolved" else "for", lang, duration=duration))
    sep = say("sep", lang)
    if state == "acknowledged" and alert.acknowledged_by:
        ack = say("acknowledged_by", lang, name=alert.acknowledged_by)
        parts.append(f"{ack}{sep}{note}" if note else ack)
    elif state == "resolved" and note:
        parts.append(say("ended_because", lang, reason=note))
    if state == "edge":
        told = clock_time(alert.edge_told_ms, timezone)
        parts.append(say("edge_told", lang, gateway=alert.gateway, time=told))
    return title, f"{alert.title}{sep}{say('comma', lang).join(parts)}"


def _prefix(state: str, note: str | None, ending: str | None, lang: str) -> str:
    if state == "resolved" and (ending or note):
        key = f"prefix.{ending or 'ended'}"  # not 【已恢复】: it may not be fixed
    else:
        key = f"prefix.{state}"
    return say(key, lang) if key in WORDS else ""


def clock_time(ms: int | None, timezone: str) -> str:
    """``MM-DD HH:MM:SS`` in the site timezone."""
    if ms is None:
        return "?"
    return local_time(ms, ZoneInfo(timezone)).strftime("%m-%d %H:%M:%S")


def iso_time(ms: int | None, timezone: str) -> str | None:
    """Epoch ms as ISO 8601 in the site timezone."""
    if ms is None:
        return None
    return local_time(ms, ZoneInfo(timezone)).isoformat(timespec="seconds")


def notification_body(
    alert: Alert,
    state: EventState,
    *,
    lang: str,
    timezone: str,
    places: Places,
    now_ms: int,
    note: str | None = None,
    ending: str | None = None,
) -> dict[str, Any]:
    """The SPEC §5 webhook body; every channel formats its message from it (its ``tags``
    keep the ids: places are named in the message)."""
    title, message = render(
        alert, state, lang, now_ms, note, timezone=timezone, places=places, ending=ending
    )
    return _body(alert, state, title, message, timezone)


def plain_body(alert: Alert, state: EventState, now_ms: int) -> dict[str, Any]:
    """The body when wording failed: the alert's own title and device, times in UTC."""
    title = alert.title or alert.rule
    message = f"{title}: {alert.name or alert.device} ({state}, {alert.site}/{alert.gateway})"
    return _body(alert, state, title, message, "UTC")


def _body(
    alert: Alert, state: EventState, title: str, message: str, timezone: str
) -> dict[str, Any]:
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
        "notified_by": alert.notified_by,
    } | _told_parts(alert, state, timezone)


def _told_parts(alert: Alert, state: EventState, timezone: str) -> dict[str, Any]:
    """When the condition ended (told once over) and when the gateway told it (edge)."""
    parts: dict[str, Any] = {}
    if state in ("late", "edge") and alert.state == "resolved":
        parts["ended_at"] = iso_time(alert.resolved_ms, timezone)
    if state == "edge":
        parts["edge_told_at"] = iso_time(alert.edge_told_ms, timezone)
    return parts
