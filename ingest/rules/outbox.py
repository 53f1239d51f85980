"""The delivery side of the notification outbox in ``alerts.db``.

Rows are added by :meth:`AlertStore.enqueue` in the transaction of the alert change that
caused them. A channel takes what is due in this order: the lowest ``priority`` first
(critical alarms before warnings, before acknowledgements and recoveries, before
reports), then the newest alert first. But a device's notifications (its ``subject``)
always go in the order they happened: one waits while an older one of the same device
has not gone (a recovery is never told before its alarm, nor the end of one alarm after
the start of the next). So a burst of a thousand alarms from one gateway cannot queue
in front of an alarm that comes after it, and a siren driven by a webhook follows each
device's state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from ingest.rules.store import AlertStore

# The priority of a notification about an alert of ``severity`` entering ``state``.
_URGENT_STATES = frozenset({"firing", "late", "escalated", "repeat"})
_SEVERITY_RANK = {"critical": 0, "warning": 1, "info": 2}
LATER = 3  # acknowledged, resolved: news, not alarms
REPORT = 4  # scheduled reports


def priority(severity: str, state: str) -> int:
    """The outbox priority of a notification (lower goes first)."""
    if state in _URGENT_STATES:
        return _SEVERITY_RANK.get(severity, 1)
    return LATER


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """A notification waiting to be delivered to one channel."""

    id: int
    alert_id: int
    channel: str
    body: dict[str, Any]
    attempts: int
    next_attempt_ms: int
    priority: int


_WAITING = "channel = ? AND sent_ms IS NULL AND failed_ms IS NULL"
# Waiting on a channel, and the oldest waiting of its subject (only that one may go).
_NEXT_OF_SUBJECT = (
    f"{_WAITING} AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.channel = o.channel"
    " AND p.subject = o.subject AND p.sent_ms IS NULL AND p.failed_ms IS NULL AND p.id < o.id)"
)
_COLUMNS = "id, alert_id, channel, body, attempts, next_attempt_ms, priority"


class Outbox:
    """Queries and marks of the outbox, sharing the alert store's connection and lock."""

    def __init__(self, store: AlertStore) -> None:
        self.store = store

    def due(self, channel: str, now_ms: int, limit: int | None = None) -> list[OutboxItem]:
        """A channel's notifications due at ``now_ms``, in delivery order."""
        query = (
            f"SELECT {_COLUMNS} FROM outbox o WHERE {_NEXT_OF_SUBJECT}"
            " AND next_attempt_ms <= ? ORDER BY priority, alert_id DESC, id LIMIT ?"
        )
        with self.store.lock:
            rows = self.store.db.execute(query, (channel, now_ms, limit or -1)).fetchall()
        return [_item(row) for row in rows]

    def next_attempt_ms(self, channel: str) -> int | None:
        """When the channel's next deliverable notification is due (None: nothing waits)."""
        with self.store.lock:
            row = self.store.db.execute(
                f"SELECT MIN(next_attempt_ms) FROM outbox o WHERE {_NEXT_OF_SUBJECT}",
                (channel,),
            ).fetchone()
        return None if row[0] is None else int(row[0])

    def bodies(self, alert_id: int) -> list[dict[str, Any]]:
        """The bodies of an alert's notifications, newest first."""
        with self.store.lock:
            rows = self.store.db.execute(
                "SELECT body FROM outbox WHERE alert_id = ? ORDER BY id DESC", (alert_id,)
            ).fetchall()
        return [orjson.loads(row["body"]) for row in rows]

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
        with self.store.lock:
            cursor = self.store.db.execute(query, [now_ms, *channels])
        return cursor.rowcount

    def oldest_waiting_ms(self, channel: str, wait_s: float) -> int | None:
        """When the oldest notification still waiting for ``channel`` was queued (None:
        none waits); TimeoutError when the store stays busy ``wait_s`` (the watchdog
        must not hang on what it watches)."""
        if not self.store.lock.acquire(timeout=wait_s):
            raise TimeoutError(f"the alert database is busy for more than {wait_s:g} s")
        try:
            row = self.store.db.execute(
                f"SELECT MIN(created_ms) FROM outbox o WHERE {_WAITING}", (channel,)
            ).fetchone()
        finally:
            self.store.lock.release()
        return None if row[0] is None else int(row[0])

    def waiting(self) -> int:
        """How many notifications are not yet delivered."""
        with self.store.lock:
            row = self.store.db.execute(
                "SELECT COUNT(*) FROM outbox WHERE sent_ms IS NULL AND failed_ms IS NULL"
            ).fetchone()
        return int(row[0])

    def _update(self, assignments: str, values: tuple[object, ...], ids: list[int]) -> None:
        with self.store.lock:
            for start in range(0, len(ids), 500):  # within SQLite's limit of parameters
                part = ids[start : start + 500]
                marks = ", ".join("?" for _ in part)
                query = f"UPDATE outbox SET {assignments} WHERE id IN ({marks})"
                self.store.db.execute(query, (*values, *part))


def _item(row: Any) -> OutboxItem:
    values = dict(row)
    values["body"] = orjson.loads(values["body"])
    return OutboxItem(**values)
