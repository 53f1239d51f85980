"""Camera snapshots received from the gateways, kept under ``state_dir/snapshots``.

A snapshot belongs to one camera, ``(site, gateway, device)``, and is named by the id its
camera reading carries; two gateways may use the same ids without meeting. Each JPEG is
written to ``snapshots/YYYY-MM-DD/<hash of its key>.jpg`` and fsynced before it is indexed
(SQLite, with its SHA-256) and before the MQTT message is acknowledged, so a snapshot the
broker handed over is never lost. A redelivered snapshot (same key, same bytes) changes
nothing; different bytes under a key already kept are refused, so nobody can replace a
picture that an alert already links. Retention: snapshots older than ``keep_days`` go, and
the oldest go first once the total passes ``max_mb``.
"""

from __future__ import annotations

import hashlib
import logging
import re
import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from campuswatch.atomicfile import write_atomic
from campuswatch.clock import Clock
from campuswatch.protocol import DeviceRef
from campuswatch.sqlitefile import DurableFile, open_durable, transaction
from ingest.errors import IngestError

log = logging.getLogger(__name__)

SNAPSHOT_ID = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$")  # never "." or ".."
MAX_JPEG_BYTES = 4 << 20
PRUNE_EVERY_S = 3600

_SCHEMA = """
CREATE TABLE IF NOT EXISTS snapshots (
    site TEXT NOT NULL, gateway TEXT NOT NULL, device TEXT NOT NULL, id TEXT NOT NULL,
    received_ms INTEGER NOT NULL, bytes INTEGER NOT NULL, path TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    PRIMARY KEY (site, gateway, device, id)
);
CREATE INDEX IF NOT EXISTS snapshots_camera ON snapshots(site, gateway, device, received_ms);
CREATE INDEX IF NOT EXISTS snapshots_age ON snapshots(received_ms);
"""
_COLUMNS = "site, gateway, device, id, received_ms, path, sha256"


class SnapshotError(IngestError):
    """A snapshot is not a usable JPEG or could not be stored."""


class SnapshotConflict(SnapshotError):
    """Another picture is already kept under this camera and id."""


@dataclass(frozen=True, slots=True)
class StoredSnapshot:
    """One kept snapshot."""

    camera: DeviceRef
    id: str
    received_ms: int
    path: Path
    sha256: str


def check_snapshot(snapshot_id: str, jpeg: bytes) -> str | None:
    """Why a received snapshot is refused, or None."""
    if not SNAPSHOT_ID.fullmatch(snapshot_id):
        return (
            f"snapshot id {snapshot_id[:80]!r} is not 1-128 of A-Z a-z 0-9 _ . - (no leading dot)"
        )
    if len(jpeg) > MAX_JPEG_BYTES:
        return f"snapshot is {len(jpeg)} bytes, more than {MAX_JPEG_BYTES}"
    if not (jpeg.startswith(b"\xff\xd8\xff") and jpeg.rstrip(b"\0").endswith(b"\xff\xd9")):
        return "snapshot is not a JPEG image"
    return None


def _stored(row: sqlite3.Row | tuple[str, str, str, str, int, str, str]) -> StoredSnapshot:
    site, gateway, device, snapshot_id, received_ms, path, sha256 = row
    return StoredSnapshot(
        DeviceRef(site, gateway, device), snapshot_id, received_ms, Path(path), sha256
    )


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
        """Open the index (upgrading one that keyed snapshots by id alone)."""
        try:
            db = open_durable(self.directory / "index.db", "")
            _migrate(db)
            db.executescript(_SCHEMA)
            (self._total,) = db.execute("SELECT COALESCE(SUM(bytes), 0) FROM snapshots").fetchone()
        except (OSError, sqlite3.Error) as exc:
            raise SnapshotError(
                f"cannot open the snapshot index in {self.directory}: {exc}"
            ) from exc
        self._db = db

    def save(self, camera: DeviceRef, snapshot_id: str, jpeg: bytes) -> None:
        """Write the JPEG durably and index it (SnapshotError when it cannot be)."""
        problem = check_snapshot(snapshot_id, jpeg)
        if problem:
            raise SnapshotError(problem)
        sha256 = hashlib.sha256(jpeg).hexdigest()
        kept = self.get(camera, snapshot_id)
        if kept is not None:
            if kept.sha256 == sha256:
                return  # redelivered
            raise SnapshotConflict(
                f"camera {camera.device!r} of {camera.site}/{camera.gateway} already has a"
                f" different snapshot {snapshot_id}: refused, the first one stays"
            )
        now_ms = int(self.clock.time() * 1000)
        day = datetime.fromtimestamp(now_ms / 1000, UTC).strftime("%Y-%m-%d")
        name = hashlib.sha256(
            "\0".join((camera.site, camera.gateway, camera.device, snapshot_id)).encode()
        ).hexdigest()[:32]
        path = self.directory / day / f"{name}.jpg"
        try:
            write_atomic(path, jpeg)
            with self._lock:
                self.db.execute(
                    "INSERT INTO snapshots VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        camera.site,
                        camera.gateway,
                        camera.device,
                        snapshot_id,
                        now_ms,
                        len(jpeg),
                        str(path),
                        sha256,
                    ),
                )
                self._total += len(jpeg)
        except sqlite3.IntegrityError as exc:  # saved by a redelivery meanwhile
            raise SnapshotConflict(f"snapshot {snapshot_id} was stored meanwhile") from exc
        except (OSError, sqlite3.Error) as exc:
            raise SnapshotError(f"cannot store snapshot {snapshot_id}: {exc}") from exc
        if self._total > self.max_bytes or time.monotonic() - self._pruned_at > PRUNE_EVERY_S:
            self.prune()

    def get(self, camera: DeviceRef, snapshot_id: str) -> StoredSnapshot | None:
        """One snapshot of a camera by id."""
        with self._lock:
            row = self.db.execute(
                f"SELECT {_COLUMNS} FROM snapshots"  # noqa: S608 (constant columns)
                " WHERE site = ? AND gateway = ? AND device = ? AND id = ?",
                (camera.site, camera.gateway, camera.device, snapshot_id),
            ).fetchone()
        return _stored(row) if row else None

    def latest(self, camera: DeviceRef) -> StoredSnapshot | None:
        """The newest snapshot of a camera."""
        with self._lock:
            row = self.db.execute(
                f"SELECT {_COLUMNS} FROM snapshots"  # noqa: S608 (constant columns)
                " WHERE site = ? AND gateway = ? AND device = ?"
                " ORDER BY received_ms DESC, id DESC LIMIT 1",
                (camera.site, camera.gateway, camera.device),
            ).fetchone()
        return _stored(row) if row else None

    def cameras(self, device: str) -> list[DeviceRef]:
        """Every camera with this device id that has snapshots (one, unless two gateways
        use the same id)."""
        with self._lock:
            rows = self.db.execute(
                "SELECT DISTINCT site, gateway FROM snapshots WHERE device = ?", (device,)
            ).fetchall()
        return [DeviceRef(site, gateway, device) for site, gateway in rows]

    def prune(self) -> int:
        """Delete snapshots past ``keep_days`` and the oldest beyond ``max_bytes``; how many."""
        self._pruned_at = time.monotonic()
        cutoff = int(self.clock.time() * 1000) - self.keep_ms
        with self._lock:
            rows = self.db.execute(
                "SELECT rowid, bytes, path, received_ms FROM snapshots ORDER BY received_ms, id"
            ).fetchall()
            victims, total = [], self._total
            for rowid, size, path, received in rows:
                if received >= cutoff and total <= self.max_bytes:
                    break
                victims.append((rowid, path))
                total -= size
            for _, path in victims:
                Path(path).unlink(missing_ok=True)
            with transaction(self.db) as db:
                db.executemany("DELETE FROM snapshots WHERE rowid = ?", [(v[0],) for v in victims])
            self._total = total
        if victims:
            log.info("removed %d old snapshot(s); %d bytes kept", len(victims), total)
        return len(victims)


def _migrate(db: sqlite3.Connection) -> None:
    """Key an index of an earlier version (by snapshot id alone) by camera, in place."""
    columns = [row[1] for row in db.execute("PRAGMA table_info(snapshots)")]
    if not columns or "sha256" in columns:
        return
    log.warning("snapshot index: keying snapshots by camera (one-time upgrade)")
    rows = db.execute(
        "SELECT site, gateway, device, id, received_ms, bytes, path FROM snapshots"
    ).fetchall()
    kept = []
    for *key, received_ms, size, path in rows:
        try:
            sha256 = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        except OSError:
            continue  # the file is gone: nothing to serve
        kept.append((*key, received_ms, size, path, sha256))
    with transaction(db):
        db.execute("DROP TABLE snapshots")
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                db.execute(statement)
        db.executemany("INSERT INTO snapshots VALUES (?, ?, ?, ?, ?, ?, ?, ?)", kept)
