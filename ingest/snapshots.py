"""Camera snapshots received from the gateways, kept under ``state_dir/snapshots``.

Each JPEG is written to ``snapshots/YYYY-MM-DD/<id>.jpg`` and fsynced before it is
indexed (SQLite) and before the MQTT message is acknowledged, so a snapshot the broker
handed over is never lost; a redelivered one overwrites itself. Retention: snapshots older
than ``keep_days`` go, and the oldest go first once the total passes ``max_mb``.
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from gateway.clock import Clock
from gateway.sqlitefile import DurableFile, open_durable
from ingest.errors import IngestError

log = logging.getLogger(__name__)

SNAPSHOT_ID = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$")  # never "." or ".."
MAX_JPEG_BYTES = 4 << 20
PRUNE_EVERY_S = 3600

_SCHEMA = """
CREATE TABLE IF NOT EXISTS snapshots (
    id TEXT PRIMARY KEY, site TEXT NOT NULL, gateway TEXT NOT NULL, device TEXT NOT NULL,
    received_ms INTEGER NOT NULL, bytes INTEGER NOT NULL, path TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS snapshots_device ON snapshots(device, received_ms);
CREATE INDEX IF NOT EXISTS snapshots_age ON snapshots(received_ms);
"""


class SnapshotError(IngestError):
    """A snapshot is not a usable JPEG or could not be stored."""


@dataclass(frozen=True, slots=True)
class StoredSnapshot:
    """One kept snapshot."""

    id: str
    device: str
    received_ms: int
    path: Path


def check_snapshot(snapshot_id: str, jpeg: bytes) -> str | None:
    """Why a received snapshot is refused, or None."""
    if not SNAPSHOT_ID.match(snapshot_id):
        return (
            f"snapshot id {snapshot_id[:80]!r} is not 1-128 of A-Z a-z 0-9 _ . - (no leading dot)"
        )
    if len(jpeg) > MAX_JPEG_BYTES:
        return f"snapshot is {len(jpeg)} bytes, more than {MAX_JPEG_BYTES}"
    if not (jpeg.startswith(b"\xff\xd8\xff") and jpeg.rstrip(b"\0").endswith(b"\xff\xd9")):
        return "snapshot is not a JPEG image"
    return None


class SnapshotStore(DurableFile):
    """Saves, finds and prunes snapshots; thread-safe."""

    closed_error = SnapshotError
    what = "the snapshot store"

    def __init__(self, directory: Path, keep_days: int, max_bytes: int, clock: Clock) -> None:
        self.directory = directory
        self.keep_ms = keep_days * 86_400_000
        self.max_bytes = max_bytes
        self.clock = clock
        super().__init__(threading.Lock())
        self._total = 0
        self._pruned_at = 0.0

    def open(self) -> None:
        """Open the index."""
        try:
            db = open_durable(self.directory / "index.db", _SCHEMA)
            (self._total,) = db.execute("SELECT COALESCE(SUM(bytes), 0) FROM snapshots").fetchone()
        except (OSError, sqlite3.Error) as exc:
            raise SnapshotError(
                f"cannot open the snapshot index in {self.directory}: {exc}"
            ) from exc
        self._db = db

    def save(self, site: str, gateway: str, device: str, snapshot_id: str, jpeg: bytes) -> None:
        """Write the JPEG durably and index it (SnapshotError when it cannot be)."""
        problem = check_snapshot(snapshot_id, jpeg)
        if problem:
            raise SnapshotError(problem)
        now_ms = int(self.clock.time() * 1000)
        day = datetime.fromtimestamp(now_ms / 1000, UTC).strftime("%Y-%m-%d")
        path = self.directory / day / f"{snapshot_id}.jpg"
        try:
            _write_durably(path, jpeg)
            with self._lock:
                old = self.db.execute("SELECT bytes FROM snapshots WHERE id = ?", (snapshot_id,))
                previous = old.fetchone()
                self.db.execute(
                    "INSERT OR REPLACE INTO snapshots VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (snapshot_id, site, gateway, device, now_ms, len(jpeg), str(path)),
                )
                self._total += len(jpeg) - (previous[0] if previous else 0)
        except (OSError, sqlite3.Error) as exc:
            raise SnapshotError(f"cannot store snapshot {snapshot_id}: {exc}") from exc
        if self._total > self.max_bytes or time.monotonic() - self._pruned_at > PRUNE_EVERY_S:
            self.prune()

    def get(self, snapshot_id: str) -> StoredSnapshot | None:
        """A snapshot by id."""
        with self._lock:
            row = self.db.execute(
                "SELECT id, device, received_ms, path FROM snapshots WHERE id = ?", (snapshot_id,)
            ).fetchone()
        return StoredSnapshot(row[0], row[1], row[2], Path(row[3])) if row else None

    def latest(self, device: str) -> StoredSnapshot | None:
        """The newest snapshot of a camera."""
        with self._lock:
            row = self.db.execute(
                "SELECT id, device, received_ms, path FROM snapshots WHERE device = ?"
                " ORDER BY received_ms DESC, id DESC LIMIT 1",
                (device,),
            ).fetchone()
        return StoredSnapshot(row[0], row[1], row[2], Path(row[3])) if row else None

    def prune(self) -> int:
        """Delete snapshots past ``keep_days`` and the oldest beyond ``max_bytes``; how many."""
        self._pruned_at = time.monotonic()
        cutoff = int(self.clock.time() * 1000) - self.keep_ms
        with self._lock:
            rows = self.db.execute(
                "SELECT id, bytes, path, received_ms FROM snapshots ORDER BY received_ms, id"
            ).fetchall()
            victims, total = [], self._total
            for snapshot_id, size, path, received in rows:
                if received >= cutoff and total <= self.max_bytes:
                    break
                victims.append((snapshot_id, path))
                total -= size
            for _, path in victims:
                Path(path).unlink(missing_ok=True)
            self.db.execute("BEGIN IMMEDIATE")
            self.db.executemany("DELETE FROM snapshots WHERE id = ?", [(v[0],) for v in victims])
            self.db.execute("COMMIT")
            self._total = total
        if victims:
            log.info("removed %d old snapshot(s); %d bytes kept", len(victims), total)
        return len(victims)


def _write_durably(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
