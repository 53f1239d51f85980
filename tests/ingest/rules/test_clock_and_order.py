"""A real alarm is always evaluated (issue 20, item 3): a reading stamped in the future
cannot mute the alarms after it, and an alarm delivered after a later all-clear (a broker
failover's reordering) is told ``late``, once, however often it is redelivered."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from campuswatch.protocol.readings import Reading
from tests.harness import SMOKE_RULE
from tests.ingest.rules.harness import EngineHarness

HOUR_MS = 3_600_000


@pytest.fixture
def h(tmp_path: Path) -> Iterator[EngineHarness]:
    harness = EngineHarness(tmp_path, "2026-11-23 21:00", rules=[SMOKE_RULE])
    harness.meta("gw-main", {"device": "smoke-1", "kind": "smoke", "name": "厨房烟感"})
    yield harness
    harness.close()


def test_a_reading_from_tomorrow_does_not_mute_the_alarm_after_it(h: EngineHarness) -> None:
    h.read("smoke-1", "smoke", ts=h.now_ms + 20 * HOUR_MS, smoke=False)  # clock jumped ahead
    problems = h.engine.problems.current()
    assert any("clock sunshine-kg/gw-main" in p and "ahead" in p for p in problems)
    assert h.engine.metrics.readings_ahead.labels("gw-main")._value.get() == 1
    h.advance(30)
    h.read("smoke-1", "smoke", smoke=True)  # the clock was corrected: a real fire, now
    assert h.sent("firing") == [("patrol", "firing")]
    device = h.registry.device("sunshine-kg", "gw-main", "smoke-1")
    assert device is not None
    assert device.last_seen_ms == h.now_ms  # the board shows now, not tomorrow
    assert device.values["smoke"] is True
    assert not any("clock" in p for p in h.engine.problems.current())


def test_an_alarm_delivered_after_a_later_all_clear_is_told_late(h: EngineHarness) -> None:
    start = h.now_ms
    h.advance(60)
    h.read("smoke-1", "smoke", ts=start + 50_000, smoke=False)  # seq 103 came first
    h.read("smoke-1", "smoke", ts=start + 10_000, smoke=True)  # seq 91, delivered after it
    assert h.sent() == [("patrol", "late")]
    [body] = h.notifications()
    assert body["state"] == "late"
    assert body["ended_at"] > body["started_at"]
    h.read("smoke-1", "smoke", ts=start + 10_000, smoke=True)  # redelivered: told once
    h.restart()
    h.read("smoke-1", "smoke", ts=start + 10_000, smoke=True)  # and after a restart
    assert len(h.notifications()) == 1


def test_an_older_alarm_inside_a_told_one_is_not_told_again(h: EngineHarness) -> None:
    start = h.now_ms
    h.read("smoke-1", "smoke", ts=start, smoke=True)
    h.advance(60)
    h.read("smoke-1", "smoke", ts=start + 60_000, smoke=False)
    h.read("smoke-1", "smoke", ts=start + 30_000, smoke=True)  # in the told alarm's time
    assert [b["state"] for b in h.notifications()] == ["firing", "resolved"]


def test_the_engines_alert_signal_is_the_one_the_recorder_emits(h: EngineHarness) -> None:
    """The live board listens to ``engine.alerts_changed``: an alarm must reach it."""
    told: list[str] = []
    h.engine.alerts_changed.connect(lambda: told.append("changed"))
    h.read("smoke-1", "smoke", smoke=True)
    assert told == ["changed"]


def test_two_older_alarm_readings_in_one_envelope_are_told_late_once(h: EngineHarness) -> None:
    start = h.now_ms
    h.advance(60)
    h.read("smoke-1", "smoke", ts=start + 50_000, smoke=False)
    older = [
        Reading("smoke-1", "smoke", start + 10_000, {"smoke": True}),
        Reading("smoke-1", "smoke", start + 20_000, {"smoke": True}),  # inside the first's time
    ]
    h.envelope(older)
    assert h.sent() == [("patrol", "late")]


def test_acknowledging_a_late_alarm_leaves_the_latched_alarm_of_its_device(
    tmp_path: Path,
) -> None:
    h = EngineHarness(
        tmp_path / "latched", "2026-11-23 21:00", rules=[{**SMOKE_RULE, "latch": True}]
    )
    try:
        start = h.now_ms
        h.advance(120)
        h.read("smoke-1", "smoke", ts=start + 10_000, smoke=False)
        h.read("smoke-1", "smoke", ts=start + 60_000, smoke=True)  # fires, latched
        h.read("smoke-1", "smoke", ts=start + 90_000, smoke=False)  # over, waits for an ack
        h.read("smoke-1", "smoke", ts=start + 20_000, smoke=True)  # older: told late
        assert [b["state"] for b in h.notifications()] == ["firing", "late"]
        [latched] = h.engine.book.alerts.values()
        [late] = [a for a in h.alerts() if a.state == "resolved"]
        h.engine.acknowledge(late.id, "值班室", "")
        assert h.engine.book.by_id(latched.id) is latched  # still waiting for its own ack
        h.engine.acknowledge(latched.id, "值班室", "")
        assert [b["state"] for b in h.notifications()] == [
            "firing",
            "late",
            "acknowledged",
            "acknowledged",
            "resolved",
        ]
        assert h.engine.book.alerts == {}
    finally:
        h.close()


def test_an_alarm_over_before_its_backlog_settled_is_told_late(h: EngineHarness) -> None:
    # A two-minute cut drains: the alarm's start is backlog (over 2 min old, so it waits
    # for the backlog to settle), its end 100 s old is not. Told late, never dropped.
    h.read("smoke-1", "smoke", ts=h.now_ms - 130_000, smoke=True)
    h.read("smoke-1", "smoke", ts=h.now_ms - 100_000, smoke=False)
    h.advance(30)
    assert h.sent() == [("patrol", "late")]
