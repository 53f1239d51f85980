"""The outbox dispatcher: retries while a channel is down, delivery after a restart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from campuswatch.clock import now_ms
from campuswatch.notify.http import HttpSender
from ingest.metrics import Metrics
from ingest.notify.dispatcher import MAX_REFUSALS, Dispatcher
from ingest.outbox import Notification, Outbox
from ingest.rules.store import AlertStore
from tests.clock import ManualClock
from tests.harness import wait_for
from tests.receivers import HttpReceiver, http_receiver

T0 = 1_795_459_200.0


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with http_receiver() as r:
        yield r


@pytest.fixture
def store(tmp_path: Path) -> Iterator[AlertStore]:
    s = AlertStore(tmp_path / "alerts.db", "sunshine-kg")
    s.open()
    yield s
    s.close()


def _dispatcher(store: AlertStore, receiver: HttpReceiver, clock: ManualClock) -> Dispatcher:
    return Dispatcher(Outbox(store), {"patrol": HttpSender(receiver.url())}, Metrics(), clock)


def _next(store: AlertStore) -> int | None:
    return Outbox(store).next_attempt_ms("patrol")


def _enqueue(store: AlertStore, clock: ManualClock, alert_id: int) -> None:
    with store.transaction():
        Outbox(store).add("patrol", Notification({"alert_id": alert_id}, alert_id), now_ms(clock))


def test_channel_down_two_minutes_then_delivered_once(
    store: AlertStore, receiver: HttpReceiver
) -> None:
    clock = ManualClock(T0)
    receiver.status = 503
    dispatcher = _dispatcher(store, receiver, clock)
    dispatcher.start()
    try:
        _enqueue(store, clock, 1)
        _enqueue(store, clock, 2)
        dispatcher.wake({"patrol"})
        wait_for(lambda: receiver.requests, 5)
        for _ in range(12):  # two minutes of a dead receiver, in 10-second steps
            clock.advance(10)
            wait_for(lambda: (_next(store) or 0) > now_ms(clock), 5)
        attempts = len(receiver.requests)
        assert 4 <= attempts <= 12  # backed off, not hammering
        receiver.status = 200
        clock.advance(60)  # past the longest backoff
        wait_for(lambda: len(receiver.bodies()) == 2, 5)
    finally:
        dispatcher.stop()
    assert receiver.bodies() == [{"alert_id": 1}, {"alert_id": 2}]  # once each, in order
    assert Outbox(store).waiting() == 0


def test_undelivered_notification_is_sent_once_after_restart(
    tmp_path: Path, receiver: HttpReceiver
) -> None:
    clock = ManualClock(T0)
    first = AlertStore(tmp_path / "alerts.db", "sunshine-kg")
    first.open()
    _enqueue(first, clock, 5)  # queued, then the service died before sending
    first.close()
    second = AlertStore(tmp_path / "alerts.db", "sunshine-kg")
    second.open()
    dispatcher = _dispatcher(second, receiver, clock)
    dispatcher.start()
    try:
        wait_for(lambda: receiver.bodies() == [{"alert_id": 5}], 5)
    finally:
        dispatcher.stop()
        second.close()
    third = AlertStore(tmp_path / "alerts.db", "sunshine-kg")
    third.open()
    dispatcher = _dispatcher(third, receiver, clock)
    dispatcher.start()
    dispatcher.stop()
    third.close()
    assert len(receiver.requests) == 1


def test_refused_message_is_given_up_and_the_queue_moves_on(
    store: AlertStore, receiver: HttpReceiver
) -> None:
    clock = ManualClock(T0)
    receiver.status = 400
    dispatcher = _dispatcher(store, receiver, clock)
    dispatcher.start()
    try:
        _enqueue(store, clock, 1)
        dispatcher.wake({"patrol"})
        for attempt in range(1, MAX_REFUSALS):
            wait_for(lambda n=attempt: len(receiver.requests) >= n, 5)
            clock.advance(120)
        wait_for(lambda: _next(store) is None, 5)
        receiver.status = 200
        _enqueue(store, clock, 2)
        dispatcher.wake({"patrol"})
        wait_for(lambda: receiver.bodies() == [{"alert_id": 2}], 5)
    finally:
        dispatcher.stop()
    assert len(receiver.requests) == MAX_REFUSALS + 1


def test_notifications_for_a_removed_channel_are_given_up(
    store: AlertStore, receiver: HttpReceiver
) -> None:
    clock = ManualClock(T0)
    with store.transaction():
        Outbox(store).add("old-channel", Notification({"alert_id": 1}, 1), now_ms(clock))
    dispatcher = _dispatcher(store, receiver, clock)
    dispatcher.start()
    dispatcher.stop()
    assert Outbox(store).waiting() == 0
