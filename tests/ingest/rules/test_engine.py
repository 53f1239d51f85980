"""The rules engine on a manual clock: every rule form, the lifecycle and restarts."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from campuswatch.protocol import DeviceInfo
from campuswatch.protocol.readings import Reading
from ingest.rules.errors import AlertConflict, AlertNotFound
from tests.harness import SMOKE_RULE
from tests.ingest.rules.harness import EngineHarness, at

DOOR_RULE = {
    "id": "door-open-after-hours",
    "kind": "door",
    "where": {"building": "main"},
    "when": {"any": [{"field": "open", "eq": True}, {"field": "locked", "eq": False}]},
    "active": {"outside": "school_hours"},
    "for": "5m",
    "severity": "warning",
    "notify": ["patrol"],
    "repeat": "15m",
    "escalate": {"after": "30m", "notify": ["director"]},
}
FRIDGE_RULE = {
    "id": "fridge-warm",
    "kind": "temperature",
    "where": {"class": "refrigerator"},
    "when": {"field": "celsius", "gt": 8},
    "for": "15m",
    "severity": "critical",
    "notify": ["canteen"],
}
FREEZER_RULE = {
    "id": "freezer-warm",
    "kind": "temperature",
    "where": {"class": "freezer"},
    "when": {"field": "celsius", "gt": -12},
    "for": "15m",
    "severity": "critical",
    "notify": ["canteen"],
}
DOOR_101 = {
    "device": "door-101",
    "kind": "door",
    "name": "后门",
    "tags": {"building": "main", "room": "101"},
}
Factory = Callable[..., EngineHarness]


@pytest.fixture
def engine_at(tmp_path: Path) -> Iterator[Factory]:
    made: list[EngineHarness] = []

    def make(start: str, rules: list[dict[str, Any]], **sections: Any) -> EngineHarness:
        harness = EngineHarness(tmp_path, start, rules=rules, **sections)
        made.append(harness)
        return harness

    yield make
    for harness in made:
        harness.close()


def test_after_hours_door_fires_after_hold_and_resolves(engine_at: Factory) -> None:
    h = engine_at("2026-11-23 20:00", [DOOR_RULE])
    h.meta("gw-main", DOOR_101)
    h.read("door-101", "door", open=False, locked=False)
    [alert] = h.alerts()
    assert alert.state == "pending"
    h.advance(4 * 60 + 59)
    assert h.sent() == []
    h.advance(1)
    assert h.sent() == [("patrol", "firing")]
    [note] = h.notifications()
    assert note["title"] == "门未上锁"
    assert note["message"] == "门未上锁：main 101 后门，已持续 5 分钟"
    assert note["tags"] == {"building": "main", "room": "101"}
    h.read("door-101", "door", open=False, locked=True)
    assert h.sent("resolved") == [("patrol", "resolved")]
    assert h.alerts()[0].state == "resolved"


def test_door_unlocked_at_1755_fires_at_1800_plus_hold(engine_at: Factory) -> None:
    h = engine_at("2026-11-23 17:55", [DOOR_RULE])
    h.meta("gw-main", DOOR_101)
    h.read("door-101", "door", open=False, locked=False)
    assert h.alerts() == []  # school hours: the rule does not apply yet
    h.advance(5 * 60)  # 18:00: after hours begin, the door is still unlocked
    [alert] = h.alerts()
    assert (alert.state, alert.since_ms) == ("pending", at("2026-11-23 18:00") * 1000)
    h.advance(4 * 60)
    assert h.sent() == []
    h.advance(60)  # 18:05
    assert h.sent() == [("patrol", "firing")]
    assert h.alerts()[0].started_ms == at("2026-11-23 18:05") * 1000


def test_messages_name_places_as_people_read_them_and_keep_ids_in_tags(
    engine_at: Factory,
) -> None:
    places = {"main": "主楼", "main/101": "小一班教室", "canteen": "食堂"}
    h = engine_at("2026-11-23 22:00", [DOOR_RULE], places=places)
    h.meta("gw-main", DOOR_101)  # building main, room 101, named 后门
    h.read("door-101", "door", open=True)
    h.advance(5 * 60)
    [body] = h.notifications()
    assert "主楼 小一班教室 后门" in body["message"]
    assert "main" not in body["message"]
    assert body["tags"] == {"building": "main", "room": "101"}  # ids for machines


def test_holiday_counts_as_after_hours_and_make_up_saturday_as_school_day(
    engine_at: Factory,
) -> None:
    calendar = {"closed": ["2026-10-01..2026-10-08"], "open": ["2026-10-10"]}
    h = engine_at("2026-10-01 10:00", [DOOR_RULE], calendar=calendar)
    h.meta("gw-main", DOOR_101)
    h.read("door-101", "door", open=True)
    h.advance(5 * 60)
    assert h.sent() == [("patrol", "firing")]
    h.read("door-101", "door", open=False, locked=True)
    h.advance(9 * 86400)  # Saturday 10 October, 10:05: a make-up working day
    h.read("door-101", "door", open=True)
    h.advance(30 * 60)
    assert [a.state for a in h.alerts()] == ["resolved"]


def test_fridge_warm_for_15_minutes_fires_but_a_door_open_spike_does_not(
    engine_at: Factory,
) -> None:
    h = engine_at("2026-11-23 10:00", [FRIDGE_RULE, FREEZER_RULE])
    h.meta(
        "gw-canteen",
        {"device": "fridge-1", "kind": "temperature", "tags": {"class": "refrigerator"}},
        {"device": "fridge-2", "kind": "temperature", "tags": {"class": "refrigerator"}},
    )
    # fridge-2: the door opened for three minutes, then the compressor caught up.
    for minute in range(16):
        h.read("fridge-1", "temperature", gateway="gw-canteen", celsius=9.0 + minute * 0.1)
        h.read("fridge-2", "temperature", gateway="gw-canteen", celsius=9.5 if minute < 3 else 4.0)
        if minute < 15:
            h.advance(60)
    fired = [n for n in h.notifications() if n["state"] == "firing"]
    # It fires by the clock at 10:15, showing the last value (minute 14: 10.4 ℃).
    assert [(n["device"], n["channel"]) for n in fired] == [("fridge-1", "canteen")]
    assert fired[0]["value"] == pytest.approx(10.4)
    assert "当前 10.4℃，已持续 15 分钟" in fired[0]["message"]
    # The spike's pending alert was dropped without a trace.
    assert [(a.device, a.state) for a in h.alerts()] == [("fridge-1", "firing")]


def test_freezer_class_has_its_own_threshold(engine_at: Factory) -> None:
    h = engine_at("2026-11-23 10:00", [FRIDGE_RULE, FREEZER_RULE])
    h.meta(
        "gw-canteen",
        {"device": "freezer-1", "kind": "temperature", "tags": {"class": "freezer"}},
        {"device": "fridge-1", "kind": "temperature", "tags": {"class": "refrigerator"}},
    )
    h.read("freezer-1", "temperature", gateway="gw-canteen", celsius=-5.0)
    h.read("fridge-1", "temperature", gateway="gw-canteen", celsius=4.0)
    h.advance(15 * 60)
    assert [(a.rule, a.device, a.state) for a in h.alerts()] == [
        ("freezer-warm", "freezer-1", "firing")
    ]


def test_smoke_fires_on_the_reading_itself(engine_at: Factory) -> None:
    h = engine_at("2026-11-23 03:00", [SMOKE_RULE])
    h.read("smoke-kitchen", "smoke", smoke=False)
    h.read("smoke-kitchen", "smoke", smoke=True)
    assert h.sent() == [("patrol", "firing")]  # no tick needed
    assert h.woken == {"patrol"}
    assert h.notifications()[0]["title"] == "烟雾报警"


def test_water_on_the_floor_is_critical_at_once_any_hour(engine_at: Factory) -> None:
    """The example config's rule: a leak fires on the reading, at 14:00 as at 03:00."""
    leak = {
        "id": "water-leak",
        "kind": "leak",
        "when": {"field": "leak", "eq": True},
        "severity": "critical",
        "notify": ["patrol"],
        "repeat": "30m",
    }
    h = engine_at("2026-11-23 14:00", [leak])
    h.read("leak-kitchen", "leak", leak=False)
    h.read("leak-kitchen", "leak", leak=True)
    [note] = h.notifications()
    assert (note["state"], note["severity"], note["title"]) == ("firing", "critical", "漏水报警")
    h.advance(30 * 60)
    assert h.sent() == [("patrol", "firing"), ("patrol", "repeat")]
    h.read("leak-kitchen", "leak", leak=False)
    assert h.sent("resolved") == [("patrol", "resolved")]


def test_silent_sensor_fires_after_three_intervals_and_resolves_on_data(
    engine_at: Factory,
) -> None:
    rule = {"id": "sensor-silent", "kind": "*", "silent_for": "3x", "notify": ["patrol"]}
    h = engine_at("2026-11-23 10:00", [rule])
    h.meta("gw-canteen", {"device": "fridge-1", "kind": "temperature", "interval_s": 60})
    h.read("fridge-1", "temperature", gateway="gw-canteen", celsius=4.0)
    h.advance(180)
    assert h.sent() == []
    h.advance(1)
    [note] = h.notifications()
    assert (note["state"], note["title"], note["device"]) == ("firing", "设备无数据", "fridge-1")
    h.read("fridge-1", "temperature", gateway="gw-canteen", celsius=4.0)
    assert h.sent("resolved") == [("patrol", "resolved")]


def test_gateway_last_will_fires_and_silences_its_devices(engine_at: Factory) -> None:
    rules = [
        {"id": "gateway-offline", "gateway_offline": "2m", "notify": ["patrol"]},
        {"id": "sensor-silent", "kind": "*", "silent_for": "3x", "notify": ["patrol"]},
    ]
    h = engine_at("2026-11-23 10:00", rules)
    h.meta("gw-gate", {"device": "door-gate", "kind": "door", "interval_s": 30})
    h.status("gw-gate", "online")
    h.read("door-gate", "door", gateway="gw-gate", open=False)
    h.status("gw-gate", "offline")  # the broker published the last will
    assert [(a.rule, a.state) for a in h.alerts()] == [("gateway-offline", "pending")]
    h.advance(119)
    assert h.sent() == []
    h.advance(1)
    h.advance(600)  # the door is silent too, but that is the gateway's alert
    assert h.sent() == [("patrol", "firing")]
    assert h.notifications()[0]["title"] == "网关离线"
    h.status("gw-gate", "online")
    assert h.sent("resolved") == [("patrol", "resolved")]


def test_gateway_silent_without_last_will(engine_at: Factory) -> None:
    h = engine_at(
        "2026-11-23 10:00", [{"id": "gw-off", "gateway_offline": "2m", "notify": ["patrol"]}]
    )
    h.read("gw-gate", "gateway", gateway="gw-gate", uptime_s=5.0)
    h.advance(119)
    assert h.sent() == []
    h.advance(2)
    assert h.sent() == [("patrol", "firing")]
    h.read("gw-gate", "gateway", gateway="gw-gate", uptime_s=200.0)
    assert h.sent("resolved") == [("patrol", "resolved")]


def test_repeat_and_escalation_stop_after_ack_then_resolve(engine_at: Factory) -> None:
    h = engine_at("2026-11-23 20:00", [DOOR_RULE])
    h.meta("gw-main", DOOR_101)
    h.read("door-101", "door", open=True)
    h.advance(5 * 60)
    h.advance(15 * 60)
    h.advance(15 * 60)
    assert h.sent() == [
        ("patrol", "firing"),
        ("patrol", "repeat"),
        ("director", "escalated"),
        ("patrol", "repeat"),
    ]
    [alert] = h.alerts()
    acked = h.engine.acknowledge(alert.id, "值班室", "已派人检查")
    assert (acked.state, acked.acknowledged_by) == ("acknowledged", "值班室")
    assert h.sent("acknowledged") == [("patrol", "acknowledged"), ("director", "acknowledged")]
    assert "已由 值班室 确认：已派人检查" in h.notifications()[-1]["message"]
    h.advance(3600)
    assert len(h.sent()) == 6  # no more repeats once acknowledged
    h.read("door-101", "door", open=False, locked=True)
    assert h.sent("resolved") == [("patrol", "resolved"), ("director", "resolved")]
    history = [e.state for e in h.store.events(alert.id)]
    assert history == [
        "pending",
        "firing",
        "repeat",
        "escalated",
        "repeat",
        "acknowledged",
        "resolved",
    ]


def test_acknowledge_refuses_unknown_pending_and_resolved_alerts(engine_at: Factory) -> None:
    h = engine_at("2026-11-23 20:00", [DOOR_RULE])
    h.meta("gw-main", DOOR_101)
    with pytest.raises(AlertNotFound):
        h.engine.acknowledge(99, "值班室", "")
    h.read("door-101", "door", open=True)
    [alert] = h.alerts()
    with pytest.raises(AlertConflict, match="pending"):
        h.engine.acknowledge(alert.id, "值班室", "")
    h.advance(300)
    h.engine.acknowledge(alert.id, "值班室", "")
    with pytest.raises(AlertConflict, match="already acknowledged"):
        h.engine.acknowledge(alert.id, "值班室", "")
    h.read("door-101", "door", open=False, locked=True)
    with pytest.raises(AlertConflict, match="resolved"):
        h.engine.acknowledge(alert.id, "值班室", "")


def test_school_morning_resolves_a_night_door_alert(engine_at: Factory) -> None:
    h = engine_at("2026-11-24 06:30", [DOOR_RULE])
    h.meta("gw-main", DOOR_101)
    h.read("door-101", "door", open=True)
    h.advance(5 * 60)
    assert h.sent() == [("patrol", "firing")]
    h.advance(25 * 60)  # 07:00
    assert h.sent("resolved") == [("patrol", "resolved")]
    # The hours ended, not the door: the message says so, never 【已恢复】 ("fixed").
    ended = h.notifications()[-1]
    assert ended["title"] == "【时段结束】门未关闭"
    assert ended["message"].endswith("07:00 时段结束时仍未恢复")


def test_restart_during_a_hold_keeps_the_hold(engine_at: Factory) -> None:
    h = engine_at("2026-11-23 10:00", [FRIDGE_RULE])
    h.meta(
        "gw-canteen",
        {"device": "fridge-1", "kind": "temperature", "tags": {"class": "refrigerator"}},
    )
    h.read("fridge-1", "temperature", gateway="gw-canteen", celsius=9.0)
    h.advance(10 * 60)
    h.restart()
    h.advance(4 * 60)
    assert h.sent() == []
    h.advance(60)  # 15 minutes after the first warm reading, not 15 after the restart
    assert h.sent() == [("canteen", "firing")]


def test_restart_keeps_firing_alerts_and_their_repeats(engine_at: Factory) -> None:
    h = engine_at("2026-11-23 20:00", [DOOR_RULE])
    h.meta("gw-main", DOOR_101)
    h.read("door-101", "door", open=True)
    h.advance(5 * 60)
    h.restart()
    h.advance(15 * 60)
    assert h.sent() == [("patrol", "firing"), ("patrol", "repeat")]
    assert len(h.alerts()) == 1


def test_late_and_duplicate_readings_never_move_an_alert_backwards(engine_at: Factory) -> None:
    h = engine_at("2026-11-23 10:00", [FRIDGE_RULE])
    h.meta(
        "gw-canteen",
        {"device": "fridge-1", "kind": "temperature", "tags": {"class": "refrigerator"}},
    )
    t0 = h.now_ms
    h.read("fridge-1", "temperature", ts=t0, gateway="gw-canteen", celsius=9.0)
    h.read("fridge-1", "temperature", ts=t0 - 30_000, gateway="gw-canteen", celsius=4.0)  # late
    h.read("fridge-1", "temperature", ts=t0, gateway="gw-canteen", celsius=9.0)  # redelivered
    assert [a.state for a in h.alerts()] == ["pending"]
    assert h.metrics.late_readings._value.get() == 1
    h.advance(15 * 60)
    assert h.sent() == [("canteen", "firing")]
    assert len(h.alerts()) == 1


def test_backlog_after_an_outage_does_not_fire_stale_alerts(engine_at: Factory) -> None:
    h = engine_at("2026-11-23 22:00", [DOOR_RULE, SMOKE_RULE])
    h.meta(
        "gw-main", DOOR_101, {"device": "door-102", "kind": "door", "tags": {"building": "main"}}
    )
    hour_ago = h.now_ms - 3600_000
    # The gateway drains an hour of buffer: door-101 was opened and closed again, a
    # smoke detector tested and cleared, while door-102 was opened and is still open.
    h.read("door-101", "door", ts=hour_ago, open=True)
    h.read("smoke-1", "smoke", ts=hour_ago + 1000, smoke=True)
    h.read("door-102", "door", ts=hour_ago + 2000, open=True)
    h.read("door-101", "door", ts=hour_ago + 600_000, open=False, locked=True)
    h.read("smoke-1", "smoke", ts=hour_ago + 601_000, smoke=False)
    h.advance(20)
    # The door that closed again is dropped; the smoke, critical, is told once as late
    # with both times (SPEC §5); the door still open fires.
    assert [(n["device"], n["state"]) for n in h.notifications()] == [
        ("smoke-1", "late"),
        ("door-102", "firing"),
    ]
    late, door = h.notifications()
    assert late["title"] == "【补报】烟雾报警"
    assert "发生于 11-23 21:00:01 至 11-23 21:10:01，网关恢复连接后补报" in late["message"]
    assert late["ended_at"] == "2026-11-23T21:10:01+08:00"
    assert door["message"].endswith("已持续 1 小时")
    assert h.metrics.stale_suppressed._value.get() == 1
    smoke = next(a for a in h.alerts() if a.device == "smoke-1")
    assert smoke.state == "resolved"
    assert [e.state for e in h.store.events(smoke.id)] == ["pending", "late", "resolved"]
    # Its ack link works once: someone takes note of the late alarm.
    h.engine.acknowledge(smoke.id, "值班室", "已查看，测试烟感")
    assert h.store.alert(smoke.id).acknowledged_by == "值班室"
    assert h.store.alert(smoke.id).state == "resolved"
    with pytest.raises(AlertConflict, match="resolved"):
        h.engine.acknowledge(smoke.id, "值班室", "")


def test_a_latched_panic_alert_waits_for_someone(engine_at: Factory) -> None:
    panic = {
        "id": "panic",
        "kind": "panic",
        "when": {"field": "pressed", "eq": True},
        "severity": "critical",
        "latch": True,
        "notify": ["patrol"],
        "repeat": "5m",
    }
    h = engine_at("2026-11-23 03:00", [panic])
    h.read("sos-gate", "panic", pressed=True)
    h.advance(60)
    h.read("sos-gate", "panic", pressed=False)  # the button springs back
    h.advance(5 * 60)
    assert h.sent() == [("patrol", "firing"), ("patrol", "repeat")]
    [alert] = h.alerts()
    h.engine.acknowledge(alert.id, "张师傅", "到场，误触")
    assert [s for _, s in h.sent()][-2:] == ["acknowledged", "resolved"]
    assert h.alerts()[0].state == "resolved"


def test_rule_removed_from_config_resolves_its_alerts(tmp_path: Path) -> None:
    h = EngineHarness(tmp_path, "2026-11-23 03:00", rules=[SMOKE_RULE])
    h.read("smoke-1", "smoke", smoke=True)
    h.close()
    h2 = EngineHarness(tmp_path, "2026-11-23 03:05", rules=[])
    assert [a.state for a in h2.alerts()] == ["resolved"]
    h2.close()


def test_english_messages(engine_at: Factory) -> None:
    h = engine_at("2026-11-23 03:00", [SMOKE_RULE], site={"id": "sunshine-kg", "language": "en"})
    h.meta(
        "gw-main",
        {"device": "smoke-1", "kind": "smoke", "name": "Kitchen", "tags": {"building": "Canteen"}},
    )
    h.read("smoke-1", "smoke", smoke=True)
    [note] = h.notifications()
    assert note["title"] == "Smoke alarm"
    assert note["message"] == "Smoke alarm: Canteen Kitchen, for under a minute"


@pytest.mark.parametrize("one_envelope", [True, False])
def test_a_late_alarm_after_a_dropped_pending_alert_is_told(
    engine_at: Factory, one_envelope: bool
) -> None:
    h = engine_at("2026-11-23 10:00", [FRIDGE_RULE])
    h.meta(
        "gw-canteen",
        {"device": "fridge-1", "kind": "temperature", "tags": {"class": "refrigerator"}},
    )
    start = h.now_ms
    h.advance(3600)  # a buffer drained an hour later: every reading is backlog

    def at(minutes: int, celsius: float) -> Reading:
        return Reading("fridge-1", "temperature", start + minutes * 60_000, {"celsius": celsius})

    first = [at(0, 9.5)]  # warm: a pending alert
    rest = [at(4, 4.0), at(30, 4.0), at(10, 9.5)]  # cool again (dropped), then an older warm
    if one_envelope:
        h.envelope(first + rest, "gw-canteen")
    else:
        h.envelope(first, "gw-canteen")
        h.envelope(rest, "gw-canteen")
    # Warm from 10 min until the 30-minute reading: longer than the rule's 15 minutes,
    # and the pending alert of the first warm reading (dropped) covers none of it.
    assert h.sent() == [("canteen", "late")]


def test_backlog_drain_after_gateway_outage_raises_no_silence_alerts(engine_at: Factory) -> None:
    rules = [
        {"id": "gateway-offline", "gateway_offline": "2m", "notify": ["patrol"]},
        {"id": "sensor-silent", "kind": "*", "silent_for": "3x", "notify": ["patrol"]},
    ]
    h = engine_at("2026-11-23 10:00", rules)
    h.meta("gw-canteen", {"device": "fridge-1", "kind": "temperature", "interval_s": 60})
    h.status("gw-canteen", "online")
    h.read("fridge-1", "temperature", gateway="gw-canteen", celsius=4.0)
    h.status("gw-canteen", "offline")
    h.advance(3600)
    h.status("gw-canteen", "online")
    start = h.now_ms - 3600_000
    for minute in range(61):  # the gateway drains its buffer, a reading a second
        h.read(
            "fridge-1", "temperature", ts=start + minute * 60_000, gateway="gw-canteen", celsius=4.0
        )
        h.advance(1)
    h.advance(60)
    assert h.sent() == [("patrol", "firing"), ("patrol", "resolved")]  # the gateway only


def test_once_per_tells_a_flapping_battery_once_a_day(engine_at: Factory) -> None:
    battery = {
        "id": "battery-low",
        "kind": "*",
        "severity": "info",
        "once_per": "1d",
        "when": {"field": "battery_low", "eq": True},
        "notify": ["patrol"],
    }
    h = engine_at("2026-11-23 03:00", [battery])
    for hour in range(4):  # the cold of the night makes the battery look flat, hourly
        h.read("smoke-1", "smoke", smoke=False, battery_low=True)
        h.advance(30 * 60)
        h.read("smoke-1", "smoke", smoke=False, battery_low=False)
        h.advance(30 * 60)
        assert len(h.alerts()) == hour + 1
    assert h.sent() == [("patrol", "firing"), ("patrol", "resolved")]  # told once
    assert [a.state for a in h.alerts()] == ["resolved"] * 4  # all kept, for the console
    h.advance(21 * 3600)  # a day after it was told
    h.read("smoke-1", "smoke", smoke=False, battery_low=True)
    assert h.sent("firing") == [("patrol", "firing"), ("patrol", "firing")]


def test_once_per_counts_an_alert_told_earlier_in_the_same_envelope(engine_at: Factory) -> None:
    battery = {
        "id": "battery-low",
        "kind": "*",
        "severity": "info",
        "once_per": "1d",
        "when": {"field": "battery_low", "eq": True},
        "notify": ["patrol"],
    }
    h = engine_at("2026-11-23 03:00", [battery])
    t = h.now_ms
    flaps = [
        Reading("smoke-1", "smoke", t + i * 1000, {"battery_low": i % 2 == 0}) for i in range(3)
    ]
    h.envelope(flaps)  # low, fine, low again: one input
    assert h.sent() == [("patrol", "firing"), ("patrol", "resolved")]  # told once
    assert [a.state for a in h.alerts()] == ["resolved", "firing"]


def test_someone_walking_past_the_gate_camera_is_told_once_not_a_flood(
    engine_at: Factory,
) -> None:
    """32 messages in 8 minutes of demo (16 fired, 16 【已恢复】): the shipped camera rule
    tells a person at the gate once in 10 minutes and not when they have gone."""
    rule = {
        "id": "person-at-gate",
        "title": "门口有人",
        "kind": "camera",
        "when": {"field": "persons", "ge": 1},
        "severity": "warning",
        "notify": ["patrol"],
        "once_per": "10m",
        "tell_resolved": False,
    }
    h = engine_at("2026-11-23 22:00", [rule])
    for _ in range(16):  # someone walks past every 30 s
        h.read("cam-gate", "camera", persons=1, tamper=False, online=True)
        h.advance(6)
        h.read("cam-gate", "camera", persons=0, tamper=False, online=True)
        h.advance(24)
    assert h.sent() == [("patrol", "firing")]
    assert len(h.alerts()) == 16  # each one recorded, for the console
    h.advance(10 * 60)
    h.read("cam-gate", "camera", persons=1, tamper=False, online=True)
    assert h.sent() == [("patrol", "firing"), ("patrol", "firing")]  # ten minutes on


def test_devices_and_gateways_taken_out_of_service_stop_alerting(engine_at: Factory) -> None:
    rules = [
        {"id": "gateway-offline", "gateway_offline": "2m", "notify": ["patrol"]},
        {"id": "sensor-silent", "kind": "*", "silent_for": "3x", "notify": ["patrol"]},
    ]
    h = engine_at("2026-11-23 10:00", rules)
    fridge = {"device": "fridge-1", "kind": "temperature", "interval_s": 60}
    old = {"device": "fridge-old", "kind": "temperature", "interval_s": 60}
    h.meta("gw-canteen", fridge, old)
    h.read("fridge-1", "temperature", gateway="gw-canteen", celsius=4.0)
    h.read("fridge-old", "temperature", gateway="gw-canteen", celsius=4.0)
    h.advance(4 * 60)  # both silent now, and the gateway too
    assert len(h.sent("firing")) == 3
    # The old fridge leaves the gateway's device list: its alert ends, with the reason.
    removed = h.registry.update_meta(
        "sunshine-kg", "gw-canteen", [DeviceInfo.model_validate(fridge)]
    )
    h.engine.on_meta("sunshine-kg", "gw-canteen", removed)
    ended = h.notifications()[-1]
    assert (ended["device"], ended["state"]) == ("fridge-old", "resolved")
    assert "已从网关的设备列表中移除" in ended["message"]
    # The gateway is taken out of service (its retained meta cleared): all of it ends.
    gone = h.registry.forget_gateway("sunshine-kg", "gw-canteen")
    h.engine.on_meta("sunshine-kg", "gw-canteen", gone, True)
    assert [a.state for a in h.alerts()] == ["resolved"] * 3
    assert "网关已停用" in h.notifications()[-1]["message"] + h.notifications()[-2]["message"]
    h.advance(3600)
    assert len(h.sent("firing")) == 3  # and nothing of it alerts again
