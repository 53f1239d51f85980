"""Alarms a gateway told on its own while cut off (SPEC §12), as the server records them:
told once with state ``edge`` instead of ``firing`` or ``late``, ``notified_by: "gateway"``;
repeats, escalation, acknowledgement and ``resolved`` as for any alert."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from campuswatch.protocol import EdgeTold
from tests.harness import SMOKE_RULE
from tests.ingest.rules.harness import SITE, EngineHarness

MIN_MS = 60_000
RULE = {**SMOKE_RULE, "repeat": "10m", "escalate": {"after": "30m", "notify": ["director"]}}


@pytest.fixture
def h(tmp_path: Path) -> Iterator[EngineHarness]:
    harness = EngineHarness(tmp_path, "2026-11-23 21:00", rules=[RULE])
    harness.meta(
        "gw-main",
        {"device": "smoke-1", "kind": "smoke", "name": "厨房烟感"},
        {"device": "smoke-2", "kind": "smoke", "name": "走廊烟感"},
    )
    yield harness
    harness.close()


def told(h: EngineHarness, device: str, on_ms: int, told_ms: int, **extra: object) -> None:
    """The gateway's record of an alarm it told, as the consumer hands it on."""
    record = {
        "gateway": "gw-main",
        "device": device,
        "kind": "smoke",
        "field": "smoke",
        "ts": on_ms,
        "told_ts": told_ms,
        "channels": ["guard-room"],
    }
    h.engine.on_edge(SITE, "gw-main", EdgeTold.model_validate(record | extra))


def test_an_alarm_still_on_is_told_once_as_edge_then_goes_on_as_any(h: EngineHarness) -> None:
    cut_at = h.now_ms
    h.advance(90)  # back after a 90 s cut (not yet a backlog: the alert fires at once)
    told(h, "smoke-1", cut_at + 20_000, cut_at + 50_000)
    h.read("smoke-1", "smoke", ts=cut_at + 20_000, smoke=True)
    [body] = h.notifications()
    assert body["state"] == "edge"
    assert body["notified_by"] == "gateway"
    assert body["edge_told_at"] == "2026-11-23T21:00:50+08:00"
    assert body["title"].startswith("【网关已报】")
    assert "网关 gw-main 连不上中心时已于 11-23 21:00:50 直接通知" in body["message"]
    assert "ended_at" not in body  # it is still on
    [alert] = h.alerts()
    assert (alert.state, alert.notified_by, alert.edge_told_ms) == (
        "firing",
        "gateway",
        cut_at + 50_000,
    )
    h.advance(10 * 60)  # nobody acknowledged: reminded as for any alert
    assert h.sent() == [("patrol", "edge"), ("patrol", "repeat")]
    h.engine.acknowledge(alert.id, "张师傅", "到现场了")
    h.read("smoke-1", "smoke", smoke=False)
    assert h.sent() == [
        ("patrol", "edge"),
        ("patrol", "repeat"),
        ("patrol", "acknowledged"),
        ("patrol", "resolved"),
    ]


def test_escalation_of_an_edge_alarm_goes_on_as_for_any(h: EngineHarness) -> None:
    told(h, "smoke-1", h.now_ms - 40_000, h.now_ms - 5_000)
    h.read("smoke-1", "smoke", ts=h.now_ms - 40_000, smoke=True)
    for _ in range(3):
        h.advance(10 * 60)
    assert [s for _, s in h.sent()] == ["edge", "repeat", "repeat", "escalated", "repeat"]


def test_an_alarm_over_during_a_long_cut_is_told_edge_not_late(h: EngineHarness) -> None:
    cut_at = h.now_ms
    h.advance(20 * 60)  # a 20-minute cut: every buffered reading is backlog
    told(h, "smoke-1", cut_at + 60_000, cut_at + 90_000)
    h.read("smoke-1", "smoke", ts=cut_at + 60_000, smoke=True)
    h.read("smoke-1", "smoke", ts=cut_at + 5 * MIN_MS, smoke=False)
    h.advance(20)
    [body] = h.notifications()
    assert (body["state"], body["notified_by"]) == ("edge", "gateway")
    assert body["ended_at"] == "2026-11-23T21:05:00+08:00"
    assert "发生于 11-23 21:01:00 至 11-23 21:05:00" in body["message"]
    [alert] = h.alerts()
    assert alert.state == "resolved"
    assert [e.state for e in h.store.events(alert.id)] == ["pending", "edge", "resolved"]
    # Over, but someone should still take note: it can be acknowledged, as a late one can.
    h.engine.acknowledge(alert.id, "张师傅", "已查看")
    assert h.sent()[-1] == ("patrol", "acknowledged")


def test_without_a_record_the_same_alarm_is_told_late_by_the_server(h: EngineHarness) -> None:
    cut_at = h.now_ms
    h.advance(20 * 60)
    h.read("smoke-1", "smoke", ts=cut_at + 60_000, smoke=True)
    h.read("smoke-1", "smoke", ts=cut_at + 5 * MIN_MS, smoke=False)
    h.advance(20)
    [body] = h.notifications()
    assert (body["state"], body["notified_by"]) == ("late", "server")
    assert h.alerts()[0].notified_by == "server"


def test_a_record_tells_only_its_own_device_and_time(h: EngineHarness) -> None:
    start = h.now_ms
    told(h, "smoke-2", start - 40_000, start - 5_000)  # another detector
    told(h, "smoke-1", start - 600_000, start - 590_000)  # an alarm over before this one
    h.read("smoke-1", "smoke", ts=start - 40_000, smoke=True)
    assert h.sent() == [("patrol", "firing")]
    assert h.alerts()[0].notified_by == "server"


def test_a_record_heard_twice_and_a_restart_before_the_reading_tell_edge_once(
    h: EngineHarness,
) -> None:
    on = h.now_ms - 40_000
    told(h, "smoke-1", on, on + 30_000)
    told(h, "smoke-1", on, on + 30_000)  # republished: the PUBACK was lost
    h.restart()
    h.read("smoke-1", "smoke", ts=on, smoke=True)
    h.read("smoke-1", "smoke", ts=on, smoke=True)  # the envelope redelivered too
    assert h.sent() == [("patrol", "edge")]
    rows = h.store.db.execute("SELECT count(*) FROM edge_told").fetchone()[0]
    assert rows == 1


def test_records_are_forgotten_after_thirty_days(h: EngineHarness) -> None:
    told(h, "smoke-1", h.now_ms - 40_000, h.now_ms - 5_000)
    h.clock.advance(31 * 86_400)
    h.restart()
    assert h.store.db.execute("SELECT count(*) FROM edge_told").fetchone()[0] == 0


def test_a_record_of_a_panic_button_needs_its_pressed_field() -> None:
    record = {"gateway": "gw-main", "device": "panic-1", "kind": "panic", "ts": 1_795_459_258_120}
    with pytest.raises(ValueError, match="'pressed'"):
        EdgeTold.model_validate(record | {"field": "smoke", "told_ts": 1_795_459_258_120})
    ok = EdgeTold.model_validate(record | {"field": "pressed", "told_ts": 1_795_459_258_120})
    assert ok.channels == []


def test_a_record_after_its_reading_notes_the_gateway_on_the_alert_told_once(
    h: EngineHarness,
) -> None:
    on = h.now_ms - 40_000
    h.read("smoke-1", "smoke", ts=on, smoke=True)  # reached the server just before the cut
    h.advance(5)
    told(h, "smoke-1", on, on + 30_000)  # the gateway told it too, before the server did
    assert h.sent() == [("patrol", "firing")]  # nobody told twice by the server
    [alert] = h.alerts()
    assert (alert.notified_by, alert.edge_told_ms) == ("gateway", on + 30_000)
    assert [e.state for e in h.store.events(alert.id)] == ["pending", "firing", "edge"]
    told(h, "smoke-1", on, on + 30_000)  # heard again: nothing more
    assert len(h.store.events(alert.id)) == 3


def test_a_gateway_clock_ahead_of_ours_still_tells_edge(h: EngineHarness) -> None:
    ahead = h.now_ms + 20 * 60_000  # its clock runs 20 minutes fast
    told(h, "smoke-1", ahead, ahead + 30_000)
    h.read("smoke-1", "smoke", ts=ahead, smoke=True)  # rule time: our now
    assert h.sent() == [("patrol", "edge")]
