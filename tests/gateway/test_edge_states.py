"""Which alarms a gateway tells itself (SPEC §12), on a manual clock with a real HTTP
receiver: a panic press over before ``after`` has passed is still told; an alarm from a
cut shorter than ``after`` or heard by the broker before the cut is the server's; one
alarm is told once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from campuswatch.protocol import EdgeTold
from gateway.config.edge import EdgeConfig
from gateway.edge import EdgeAlarms
from tests.clock import ManualClock
from tests.harness import wait_for
from tests.receivers import HttpReceiver, http_receiver

T0 = 1_796_000_000.0


class Link:
    """The uplink as the edge alarms see it: since when the broker is out of reach."""

    down_since: float | None = None


@pytest.fixture
def edge(tmp_path: Path) -> Iterator[tuple[EdgeAlarms, ManualClock, Link, HttpReceiver]]:
    with http_receiver() as receiver:
        config = EdgeConfig.model_validate(
            {"after": "2s", "channels": {"guard": {"type": "webhook", "url": receiver.url()}}}
        )
        clock, link = ManualClock(T0), Link()
        alarms = EdgeAlarms(
            config,
            "s",
            "gw",
            {},
            lambda: link.down_since,
            clock,
            tmp_path / "edge",
            "Asia/Shanghai",
        )
        alarms.start()
        yield alarms, clock, link, receiver
        alarms.stop()


def _reading(clock: ManualClock, kind: str, **values: Any) -> dict[str, Any]:
    return {"device": f"{kind}-1", "kind": kind, "ts": int(clock.time() * 1000), "values": values}


def test_a_panic_press_over_before_after_is_still_told(
    edge: tuple[EdgeAlarms, ManualClock, Link, HttpReceiver],
) -> None:
    alarms, clock, link, receiver = edge
    link.down_since = clock.time()
    clock.advance(0.5)
    alarms.observe(_reading(clock, "panic", pressed=True))
    clock.advance(0.5)
    alarms.observe(_reading(clock, "panic", pressed=False))  # released at once
    assert alarms.pending() == 0  # the cut is 1 s old: not yet
    clock.advance(1.5)
    alarms.observe(_reading(clock, "panic", pressed=False))  # any later reading, or the timer
    body = wait_for(lambda: next(iter(receiver.bodies()), None), 10)
    assert (body["device"], body["kind"], body["edge"]) == ("panic-1", "panic", True)
    alarms.observe(_reading(clock, "panic", pressed=False))
    assert alarms.told == 1


def test_the_servers_alarms_are_left_to_the_server(
    edge: tuple[EdgeAlarms, ManualClock, Link, HttpReceiver],
) -> None:
    alarms, clock, link, receiver = edge
    alarms.observe(_reading(clock, "smoke", smoke=True))  # acknowledged by the broker
    clock.advance(10)
    link.down_since = clock.time()  # a cut shorter than ``after``, and a leak in it:
    clock.advance(1)
    alarms.observe(_reading(clock, "smoke", smoke=True))
    alarms.observe(_reading(clock, "leak", leak=True))
    link.down_since = None  # the broker has it once the link is back
    alarms.observe(_reading(clock, "leak", leak=True))
    clock.advance(10)
    link.down_since = clock.time()
    clock.advance(5)
    alarms.observe(_reading(clock, "leak", leak=True))
    alarms.observe(_reading(clock, "smoke", smoke=True))
    assert alarms.told == 0
    assert alarms.pending() == 0
    assert receiver.bodies() == []


def test_a_clock_from_before_2020_still_tells_people_without_a_record(
    edge: tuple[EdgeAlarms, ManualClock, Link, HttpReceiver],
) -> None:
    # A Pi without a clock chip rebooted in the cut, its time not yet set: 1970.
    alarms, clock, link, receiver = edge
    clock.advance(-T0 + 600)
    link.down_since = clock.time()
    clock.advance(3)
    alarms.observe(_reading(clock, "smoke", smoke=True))
    body = wait_for(lambda: next(iter(receiver.bodies()), None), 10)
    assert (body["device"], body["edge"]) == ("smoke-1", True)
    assert alarms.unsent() == []  # the server cannot believe its time: it tells it itself
    assert alarms.told == 1


def test_records_for_the_server_wait_until_the_broker_takes_them(
    edge: tuple[EdgeAlarms, ManualClock, Link, HttpReceiver],
) -> None:
    alarms, clock, link, _receiver = edge
    link.down_since = clock.time()
    clock.advance(3)
    alarms.observe(_reading(clock, "leak", leak=True))
    [record] = alarms.unsent()
    assert alarms.has_unsent
    told = EdgeTold.model_validate_json(record.body)
    assert (told.device, told.field, told.ts) == ("leak-1", "leak", int(clock.time() * 1000))
    alarms.sent(record)
    assert alarms.unsent() == []
    assert not alarms.has_unsent
