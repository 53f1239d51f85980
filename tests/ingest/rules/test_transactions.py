"""Every call that may change the rules engine's state is one store transaction, opened
before the first change: whichever path fires an alert, its state, its history event and
its outbox entries are committed together, and delivery is woken at once.

Two paths used to fire outside any transaction (each write committed on its own, the
notifier left to its 1 s poll): a condition alert fired by the reading that arrives after
its hold time, and a gateway-offline alert fired by a tick.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.outbox import Notification
from tests.harness import SMOKE_RULE
from tests.ingest.rules.harness import EngineHarness

FRIDGE = {"device": "fridge-1", "kind": "temperature", "tags": {"class": "refrigerator"}}
FRIDGE_RULE = {
    "id": "fridge-warm",
    "kind": "temperature",
    "where": {"class": "refrigerator"},
    "when": {"field": "celsius", "gt": 8},
    "for": "5m",
    "severity": "critical",
    "notify": ["canteen"],
}
GATEWAY_RULE = {"id": "gateway-offline", "gateway_offline": "2m", "notify": ["patrol"]}


class Commits:
    """The write statements the store's connection runs, grouped by transaction."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.groups: list[list[str]] = []
        self.outside: list[str] = []
        self._open: list[str] | None = None
        db.set_trace_callback(self._statement)

    def _statement(self, sql: str) -> None:
        verb = sql.lstrip().split(" ", 1)[0].upper()
        if verb == "BEGIN":
            self._open = []
        elif verb in ("COMMIT", "ROLLBACK"):
            if self._open:
                self.groups.append(self._open)
            self._open = None
        elif verb in ("INSERT", "UPDATE", "DELETE"):
            (self.outside if self._open is None else self._open).append(sql)

    def group_with(self, fragment: str) -> list[str]:
        """The one committed transaction holding a statement with ``fragment``."""
        found = [g for g in self.groups if any(fragment in sql for sql in g)]
        assert len(found) == 1, found
        return found[0]


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[EngineHarness]:
    h = EngineHarness(tmp_path / "state", "2026-11-23 10:00", rules=[FRIDGE_RULE, GATEWAY_RULE])
    yield h
    h.close()


def _outbox_rows(h: EngineHarness) -> int:
    """What another process would see in the outbox (a separate connection)."""
    with sqlite3.connect(h.config.state_dir / "alerts.db") as other:
        return int(other.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])


def _assert_fired_in_one_commit(commits: Commits) -> None:
    assert commits.outside == [], "every write belongs to a transaction"
    group = commits.group_with("INSERT INTO outbox")
    assert any(sql.startswith("UPDATE alerts") for sql in group), group
    assert any(sql.startswith("INSERT INTO events") for sql in group), group


def test_a_reading_after_the_hold_fires_in_one_commit_and_wakes_delivery(
    harness: EngineHarness,
) -> None:
    harness.meta("gw-canteen", FRIDGE)
    harness.read("fridge-1", "temperature", gateway="gw-canteen", celsius=9.5)
    assert harness.sent() == []  # pending for 5 minutes
    harness.clock.advance(301)  # no tick in between: the next reading fires it
    commits = Commits(harness.store.db)
    harness.read("fridge-1", "temperature", gateway="gw-canteen", celsius=9.6)
    _assert_fired_in_one_commit(commits)
    assert harness.sent() == [("canteen", "firing")]
    assert harness.woken == {"canteen"}, "delivery is woken at once, not at its next poll"
    assert _outbox_rows(harness) == 1


def test_a_gateway_offline_alert_fired_by_a_tick_is_one_commit_and_wakes_delivery(
    harness: EngineHarness,
) -> None:
    harness.status("gw-gate", "online")
    harness.status("gw-gate", "offline")  # its last will: pending for 2 minutes
    assert harness.sent() == []
    commits = Commits(harness.store.db)
    harness.advance(121)
    _assert_fired_in_one_commit(commits)
    assert harness.sent() == [("patrol", "firing")]
    assert harness.woken == {"patrol"}
    assert _outbox_rows(harness) == 1


def test_a_failed_change_leaves_nothing_behind(harness: EngineHarness) -> None:
    harness.meta("gw-canteen", FRIDGE)
    harness.read("fridge-1", "temperature", gateway="gw-canteen", celsius=9.5)
    harness.clock.advance(301)

    def refuse(*_args: object) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    harness.outbox.add = refuse  # type: ignore[method-assign]
    with pytest.raises(sqlite3.OperationalError):
        harness.read("fridge-1", "temperature", gateway="gw-canteen", celsius=9.6)
    # The rollback took the firing back with the failed outbox write: still pending.
    assert [a.state for a in harness.alerts()] == ["pending"]
    assert harness.woken == set()


def test_an_alert_told_from_memory_keeps_no_id_of_the_write_that_failed(
    tmp_path: Path,
) -> None:
    h = EngineHarness(tmp_path / "smoke", "2026-11-23 10:00", rules=[SMOKE_RULE])
    told: list[str] = []
    h.engine.recorder.unrecorded = lambda pairs: told.extend(c for c, _ in pairs)
    add = h.outbox.add

    def full_disk(channel: str, notification: Notification, now: int) -> None:
        if not h.store.in_memory:  # the alert's row went in, its outbox row cannot
            raise sqlite3.OperationalError("database or disk is full")
        add(channel, notification, now)

    h.outbox.add = full_disk  # type: ignore[method-assign]
    try:
        h.read("smoke-1", "smoke", smoke=True)  # opened and fired by one reading
        assert told == ["patrol"]  # told from memory
        [alert] = h.engine.book.alerts.values()
        assert alert.state == "firing"
        # Its row was rolled back: it is kept in memory (a negative id) and written as a
        # new alert at its next change, never as an update of a row that does not exist.
        assert alert.id < 0
        assert h.alerts() == []
        h.outbox.add = add  # type: ignore[method-assign]
        h.read("smoke-1", "smoke", smoke=False)  # the disk has room again
        assert [(a.id > 0, a.state) for a in h.alerts()] == [(True, "resolved")]
    finally:
        h.close()


def test_alert_changes_outside_a_transaction_are_refused(harness: EngineHarness) -> None:
    from ingest.rules.model import Alert  # noqa: PLC0415
    from ingest.rules.store import AlertStoreError  # noqa: PLC0415

    alert = Alert("smoke", "s", "gw", "d", "smoke", "critical", "pending", 0)
    with pytest.raises(AlertStoreError, match="inside transaction"):
        harness.store.save_alert(alert)
    with harness.store.transaction():  # a transaction that changes nothing writes nothing
        pass
    assert harness.alerts() == []
