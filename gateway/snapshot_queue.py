"""Store-and-forward for camera snapshots: JPEGs wait in SQLite until the broker has them.

A snapshot is committed (fsynced) before the camera reading that names it, and deleted
only when the broker acknowledged its publication, so after an outage or a restart it is
published again; the server stores it under its id, so a repeat changes nothing. The
queue is capped (``max_bytes``): past it the oldest snapshots are dropped (and counted),
never readings, which live in the readings buffer.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

from campuswatch.sqlitefile import DurableFile, open_durable
from gateway.errors import BufferFailure

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS snapshots (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE, device TEXT NOT NULL, body BLOB NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One JPEG waiting to be published."""

    id: str
    device: str
    body: bytes


class SnapshotQueue(DurableFile):
    """The gateway's durable snapshot queue; thread-safe."""

    closed_error = BufferFailure
    what = "the snapshot queue"

    def __init__(self, path: Path, max_bytes: int) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.dropped = 0
        self._bytes = 0
        self._count = 0  # snapshots waiting: the uplink asks before every envelope
        super().__init__(threading.Lock())

    def open(self) -> None:
        """Open or create the database."""
        try:
            db = open_durable(self.path, _SCHEMA)
            self._recount(db)
        except sqlite3.Error as exc:
            raise BufferFailure(f"cannot open snapshot queue {self.path}: {exc}") from exc
        self._db = db

    def depth(self) -> int:
        """Snapshots not yet acknowledged by the broker."""
        return self._count

    def add(self, device: str, snapshot_id: str, jpeg: bytes) -> None:
        """Commit a snapshot (fsynced), dropping the oldest ones past ``max_bytes``."""
        with self._lock:
            db = self.db
            try:
                db.execute("BEGIN IMMEDIATE")
                added = db.execute(
                    "INSERT OR IGNORE INTO snapshots (id, device, body) VALUES (?, ?, ?)",
                    (snapshot_id, device, jpeg),
                ).rowcount
                self._bytes += len(jpeg) * added
                self._count += added
                while self._bytes > self.max_bytes:
                    row = db.execute(
                        "SELECT seq, LENGTH(body) FROM snapshots ORDER BY seq LIMIT 1"
                    ).fetchone()
                    if row is None:
                        break
                    db.execute("DELETE FROM snapshots WHERE seq = ?", (row[0],))
                    self._bytes -= row[1]
                    self._count -= 1
                    self.dropped += 1
                    log.warning(
                        "snapshot queue full: dropped the oldest (%d in total)", self.dropped
                    )
                db.execute("COMMIT")
            except sqlite3.Error as exc:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                    self._recount(db)  # the counters moved with the undone changes
                raise BufferFailure(f"cannot write snapshot queue {self.path}: {exc}") from exc

    def _recount(self, db: sqlite3.Connection) -> None:
        self._bytes, self._count = db.execute(
            "SELECT COALESCE(SUM(LENGTH(body)), 0), COUNT(*) FROM snapshots"
        ).fetchone()

    def next(self, skip: set[str]) -> Snapshot | None:
        """The oldest snapshot whose id is not in ``skip`` (those already in flight)."""
        if self._count <= len(skip):
            return None  # the common case, without a query
        with self._lock:
            ids = [r[0] for r in self.db.execute("SELECT id FROM snapshots ORDER BY seq")]
            for snapshot_id in ids:
                if snapshot_id not in skip:
                    device, body = self.db.execute(
                        "SELECT device, body FROM snapshots WHERE id = ?", (snapshot_id,)
                    ).fetchone()
                    return Snapshot(snapshot_id, device, body)
        return None

    def acknowledge(self, snapshot_id: str) -> None:
        """The broker has the snapshot: forget it."""
        with self._lock:
            try:
                row = self.db.execute(
                    "DELETE FROM snapshots WHERE id = ? RETURNING LENGTH(body)", (snapshot_id,)
                ).fetchone()
            except sqlite3.Error as exc:
                raise BufferFailure(f"cannot write snapshot queue {self.path}: {exc}") from exc
            if row is not None:
                self._bytes -= row[0]
                self._count -= 1
