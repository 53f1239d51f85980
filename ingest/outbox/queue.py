"""The notification outbox, a table of the alert database (``alerts.db``).

Notifications are added with :meth:`Outbox.add` inside the transaction of the change that
caused them (an alert's step, a report's run), so they are durable together or not at
all. A channel takes what is due in this order: the lowest ``priority`` first (critical
alarms before warnings, before acknowledgements and recoveries, before reports), then
the newest alert first. But a device's notifications (its ``subject``) always go in the
order they happened: one waits while an older one of the same device has not gone (a
recovery is never told before its alarm, nor the end of one alarm after the start of the
next). So a burst of a thousand alarms from one gateway cannot queue in front of an
alarm that comes after it, and a siren driven by a webhook follows each device's state.
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import AbstractContextManager
from dataclasses import dataclass

from ingest.outbox.notification import Notification
from ingest.storage.statedb import StateDatabase

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id INTEGER NOT NULL, channel TEXT NOT NULL, body TEXT NOT NULL,
    created_ms INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER NOT NULL, sent_ms INTEGER, failed_ms INTEGER, last_error TEXT,
    priority INTEGER NOT NULL DEFAULT 1, subject TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS outbox_waiting ON outbox(channel, priority, alert_id, id)
    WHERE sent_ms IS NULL AND failed_ms IS NULL;
CREATE INDEX IF NOT EXISTS outbox_subject ON outbox(channel, subject, id)
    WHERE sent_ms IS NULL AND failed_ms IS NULL;
CREATE INDEX IF NOT EXISTS outbox_alert ON outbox(alert_id);
"""


def migrate(db: sqlite3.Connection) -> None:
    """Give the outbox of a store made before version 3 its priority and subject."""
    columns = [row[1] for row in db.execute("PRAGMA table_info(outbox)")]
    if not columns:
        return
    for column, declaration in (
        ("priority", "INTEGER NOT NULL DEFAULT 1"),
        ("subject", "TEXT NOT NULL DEFAULT ''"),
    ):
        if column not in columns:
            db.execute("DROP INDEX IF EXISTS outbox_waiting")
            db.execute(f"ALTER TABLE outbox ADD COLUMN {column} {declaration}")


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """A notification waiting to be delivered to one channel."""

    id: int
    channel: str
    notification: Notification
    attempts: int
    next_attempt_ms: int

    @property
    def alert_id(self) -> int:
        """The alert it is about (0: none)."""
        return self.notification.alert_id


_WAITING = "channel = ? AND sent_ms IS NULL AND failed_ms IS NULL"
# Waiting on a channel, and the oldest waiting of its subject (only that one may go).
_NEXT_OF_SUBJECT = (
    f"{_WAITING} AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.channel = o.channel"
    " AND p.subject = o.subject AND p.sent_ms IS NULL AND p.failed_ms IS NULL AND p.id < o.id)"
)
_COLUMNS = "id, channel, body, alert_id, priority, subject, attempts, next_attempt_ms"


class Outbox:
    """Adds notifications (inside the database's transaction) and serves them to the
    channels; shares the database's connection and lock."""

    def __init__(self, database: StateDatabase) -> None:
        self.database = database
        self._unrecorded: list[tuple[str, Notification]] = []
        self._unrecorded_lock = threading.Lock()

    def add(self, channel: str, notification: Notification, now_ms: int) -> None:
        """Queue ``notification`` for ``channel``, in the transaction that caused it. In a
        transaction run in memory (a full disk) it is kept for :meth:`take_unrecorded`."""
        n = notification
        with self.database.lock:  # held by the transaction's thread: another one waits
            if self.database.in_memory:
                with self._unrecorded_lock:
                    self._unrecorded.append((channel, n))
                return
            self.database.writer().execute(
                "INSERT INTO outbox (alert_id, channel, body, created_ms, next_attempt_ms,"
                " priority, subject) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (n.alert_id, channel, n.to_json(), now_ms, now_ms, n.priority, n.subject),
            )

    def transaction(self) -> AbstractContextManager[None]:
        """One transaction of the database the outbox is in: notifications added inside
        it are queued together, or none of them."""
        return self.database.transaction()

    def take_unrecorded(self) -> list[tuple[str, Notification]]:
        """The (channel, notification) pairs added by transactions run in memory."""
        with self._unrecorded_lock:
            taken, self._unrecorded = self._unrecorded, []
        return taken

    def due(self, channel: str, now_ms: int, limit: int | None = None) -> list[OutboxItem]:
        """A channel's notifications due at ``now_ms``, in delivery order."""
        query = (
            f"SELECT {_COLUMNS} FROM outbox o WHERE {_NEXT_OF_SUBJECT}"
            " AND next_attempt_ms <= ? ORDER BY priority, alert_id DESC, id LIMIT ?"
        )
        with self.database.lock:
            rows = self.database.db.execute(query, (channel, now_ms, limit or -1)).fetchall()
        return [_item(row) for row in rows]

    def next_attempt_ms(self, channel: str) -> int | None:
        """When the channel's next deliverable notification is due (None: nothing waits)."""
        with self.database.lock:
            row = self.database.db.execute(
                f"SELECT MIN(next_attempt_ms) FROM outbox o WHERE {_NEXT_OF_SUBJECT}",
                (channel,),
            ).fetchone()
        return None if row[0] is None else int(row[0])

    def mark_sent(self, ids: list[int], now_ms: int) -> None:
        """Record a delivery (of one message, or of one digest of several)."""
        self._update("sent_ms = ?, attempts = attempts + 1", (now_ms,), ids)

    def mark_retry(self, ids: list[int], next_attempt_ms: int, error: str) -> None:
        """Record a failed attempt and when to try again."""
        self._update(
            "attempts = attempts + 1, next_attempt_ms = ?, last_error = ?",
            (next_attempt_ms, error),
            ids,
        )

    def mark_failed(self, ids: list[int], now_ms: int, error: str) -> None:
        """Give up on notifications the channel refuses for good."""
        self._update("attempts = attempts + 1, failed_ms = ?, last_error = ?", (now_ms, error), ids)

    def fail_unknown_channels(self, channels: list[str], now_ms: int) -> int:
        """Give up notifications for channels no longer configured; return how many."""
        marks = ", ".join("?" for _ in channels) or "''"  # placeholders only
        where = f"sent_ms IS NULL AND failed_ms IS NULL AND channel NOT IN ({marks})"
        query = f"UPDATE outbox SET failed_ms = ?, last_error = 'channel removed' WHERE {where}"
        with self.database.lock:
            cursor = self.database.db.execute(query, [now_ms, *channels])
        return cursor.rowcount

    def oldest_waiting_ms(self, channel: str, wait_s: float) -> int | None:
        """When the oldest notification still waiting for ``channel`` was queued (None:
        none waits); TimeoutError when the database stays busy ``wait_s`` (the watchdog
        must not hang on what it watches)."""
        if not self.database.lock.acquire(timeout=wait_s):
            raise TimeoutError(f"the alert database is busy for more than {wait_s:g} s")
        try:
            row = self.database.db.execute(
                f"SELECT MIN(created_ms) FROM outbox o WHERE {_WAITING}", (channel,)
            ).fetchone()
        finally:
            self.database.lock.release()
        return None if row[0] is None else int(row[0])

    def waiting(self) -> int:
        """How many notifications are not yet delivered."""
        with self.database.lock:
            row = self.database.db.execute(
                "SELECT COUNT(*) FROM outbox WHERE sent_ms IS NULL AND failed_ms IS NULL"
            ).fetchone()
        return int(row[0])

    def _update(self, assignments: str, values: tuple[object, ...], ids: list[int]) -> None:
        with self.database.lock:
            for start in range(0, len(ids), 500):  # within SQLite's limit of parameters
                part = ids[start : start + 500]
                marks = ", ".join("?" for _ in part)
                query = f"UPDATE outbox SET {assignments} WHERE id IN ({marks})"
                self.database.db.execute(query, (*values, *part))


def _item(row: sqlite3.Row) -> OutboxItem:
    item_id, channel, body, alert_id, priority, subject, attempts, next_attempt_ms = row
    notification = Notification.from_row(body, alert_id, priority, subject)
    return OutboxItem(item_id, channel, notification, attempts, next_attempt_ms)
