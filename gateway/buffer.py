"""Store-and-forward: every reading is committed to SQLite (WAL) before it is published.

Readings wait in ``readings`` in arrival order. The uplink takes the oldest into an
envelope: in one transaction the envelope gets the next ``seq`` and its exact payload is
stored in ``envelopes`` while its rows leave ``readings``. The envelope is deleted only
when the broker acknowledged it (PUBACK); until then it is republished after every
reconnect or restart with the same ``seq`` and the same bytes, so the server sees a
repeat, never a gap. ``seq`` starts from the creation time in ms and only grows.

After an outage the backlog drains while live readings keep flowing: readings committed
since the uplink reconnected are "live" and alternate with backlog envelopes, so a smoke
alarm is not queued behind hours of fridge readings. (The server merges values per
device by reading time, so older backlog readings arriving later never undo a newer
state.)

When the queue holds more than ``max_bytes``, the oldest routine readings are dropped
first and door/smoke readings last; every drop is counted (and reported in the
gateway's health readings).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import orjson

from campuswatch.sqlitefile import DurableFile, open_durable
from gateway.errors import BufferFailure

log = logging.getLogger(__name__)

SAFETY_KINDS = frozenset({"door", "smoke"})
MAX_ENVELOPE_BYTES = 250_000  # SPEC §2: at most 256 KiB per envelope
_DROP_CHUNK = 500

_SCHEMA = """
CREATE TABLE IF NOT EXISTS readings (
    id INTEGER PRIMARY KEY AUTOINCREMENT, safety INTEGER NOT NULL, body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS readings_routine ON readings(safety, id);
CREATE TABLE IF NOT EXISTS envelopes (
    seq INTEGER PRIMARY KEY, count INTEGER NOT NULL, payload BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


@dataclass(frozen=True, slots=True)
class Envelope:
    """A prepared readings envelope awaiting the broker's acknowledgement."""

    seq: int
    count: int
    payload: bytes


class Buffer(DurableFile):
    """The gateway's durable queue; thread-safe."""

    closed_error = BufferFailure
    what = "the buffer"

    def __init__(self, path: Path, gateway: str, max_bytes: int) -> None:
        self.path = path
        self.gateway = gateway
        self.max_bytes = max_bytes
        super().__init__(threading.Lock())
        self._bytes = 0
        self._waiting = 0  # readings in ``readings`` and in unacknowledged envelopes
        self._live_from = 0  # readings with a larger id came after the last reconnect
        self.dropped = 0

    # ------------------------------------------------------------------ lifecycle

    def open(self) -> None:
        """Open or create the database and recover counters."""
        try:
            db = open_durable(self.path, _SCHEMA)
            db.execute(
                "INSERT OR IGNORE INTO state VALUES ('next_seq', ?)", (int(time.time() * 1000),)
            )
            db.execute("INSERT OR IGNORE INTO state VALUES ('dropped', 0)")
            rows_bytes, rows = db.execute(
                "SELECT COALESCE(SUM(LENGTH(body)), 0), COUNT(*) FROM readings"
            ).fetchone()
            env_bytes, env_count = db.execute(
                "SELECT COALESCE(SUM(LENGTH(payload)), 0), COALESCE(SUM(count), 0) FROM envelopes"
            ).fetchone()
            self.dropped = self._state(db, "dropped")
        except sqlite3.Error as exc:
            raise BufferFailure(f"cannot open buffer {self.path}: {exc}") from exc
        self._db = db
        self._bytes = rows_bytes + env_bytes
        self._waiting = rows + env_count

    @staticmethod
    def _state(db: sqlite3.Connection, key: str) -> int:
        return int(db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()[0])

    @property
    def depth(self) -> int:
        """Readings not yet acknowledged by the broker."""
        return self._waiting

    # ------------------------------------------------------------------ writing

    def add(self, readings: list[dict[str, object]]) -> None:
        """Commit readings (one transaction, fsynced), dropping old ones if full."""
        rows = [(int(r["kind"] in SAFETY_KINDS), orjson.dumps(r)) for r in readings]
        with self._lock:
            db = self.db
            try:
                db.execute("BEGIN IMMEDIATE")
                db.executemany("INSERT INTO readings (safety, body) VALUES (?, ?)", rows)
                self._bytes += sum(len(body) for _, body in rows)
                self._waiting += len(rows)
                if self._bytes > self.max_bytes:
                    self._drop_oldest(db)
                db.execute("COMMIT")
            except sqlite3.Error as exc:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise BufferFailure(f"cannot write buffer {self.path}: {exc}") from exc

    def _drop_oldest(self, db: sqlite3.Connection) -> None:
        """Free space: oldest routine readings first, safety readings only when none are left."""
        dropped = 0
        for safety in (0, 1):
            while self._bytes > self.max_bytes:
                victims = db.execute(
                    "SELECT id, LENGTH(body) FROM readings WHERE safety = ? ORDER BY id LIMIT ?",
                    (safety, _DROP_CHUNK),
                ).fetchall()
                if not victims:
                    break
                freed = 0
                for count, (_id, size) in enumerate(victims, 1):
                    freed += size
                    if self._bytes - freed <= self.max_bytes:
                        victims = victims[:count]
                        break
                db.executemany("DELETE FROM readings WHERE id = ?", [(v[0],) for v in victims])
                self._bytes -= freed
                self._waiting -= len(victims)
                dropped += len(victims)
        if dropped:
            self.dropped += dropped
            db.execute("UPDATE state SET value = ? WHERE key = 'dropped'", (self.dropped,))
            log.warning(
                "buffer full (%d bytes): dropped the %d oldest reading(s), %d in total",
                self.max_bytes,
                dropped,
                self.dropped,
            )

    # ------------------------------------------------------------------ envelopes

    def mark_backlog(self) -> None:
        """The uplink (re)connected: what waits now is backlog, what comes next is live."""
        with self._lock:
            (last,) = self.db.execute("SELECT COALESCE(MAX(id), 0) FROM readings").fetchone()
            self._live_from = last

    def prepare(self, max_readings: int, prefer_live: bool = False) -> Envelope | None:
        """Move the oldest backlog (or, preferred, live) readings into a new envelope."""
        with self._lock:
            db = self.db
            order = ("id > ?", "id <= ?") if prefer_live else ("id <= ?", "id > ?")
            for where in order:
                rows = db.execute(
                    f"SELECT id, body FROM readings WHERE {where} ORDER BY id LIMIT ?",  # noqa: S608 - fixed clauses
                    (self._live_from, max_readings),
                ).fetchall()
                if rows:
                    break
            else:
                return None
            bodies: list[bytes] = []
            size = 0
            for _id, body in rows:
                if bodies and size + len(body) + 1 > MAX_ENVELOPE_BYTES:
                    break
                bodies.append(body)
                size += len(body) + 1
            first_id, last_id = rows[0][0], rows[len(bodies) - 1][0]
            try:
                db.execute("BEGIN IMMEDIATE")
                seq = self._state(db, "next_seq")
                payload = (
                    b'{"v":1,"gateway":'
                    + orjson.dumps(self.gateway)
                    + b',"seq":'
                    + str(seq).encode()
                    + b',"readings":['
                    + b",".join(bodies)
                    + b"]}"
                )
                db.execute("UPDATE state SET value = ? WHERE key = 'next_seq'", (seq + 1,))
                db.execute("INSERT INTO envelopes VALUES (?, ?, ?)", (seq, len(bodies), payload))
                db.execute("DELETE FROM readings WHERE id BETWEEN ? AND ?", (first_id, last_id))
                db.execute("COMMIT")
            except sqlite3.Error as exc:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise BufferFailure(f"cannot write buffer {self.path}: {exc}") from exc
            self._bytes += len(payload) - size + 1
            return Envelope(seq, len(bodies), payload)

    def unacknowledged(self) -> list[Envelope]:
        """Prepared envelopes the broker has not acknowledged, oldest first."""
        with self._lock:
            rows = self.db.execute(
                "SELECT seq, count, payload FROM envelopes ORDER BY seq"
            ).fetchall()
        return [Envelope(seq, count, payload) for seq, count, payload in rows]

    def acknowledge(self, envelope: Envelope) -> None:
        """The broker has the envelope: forget it."""
        with self._lock:
            try:
                cursor = self.db.execute("DELETE FROM envelopes WHERE seq = ?", (envelope.seq,))
            except sqlite3.Error as exc:
                raise BufferFailure(f"cannot write buffer {self.path}: {exc}") from exc
            if cursor.rowcount:  # a repeated acknowledgement changes nothing
                self._bytes -= len(envelope.payload)
                self._waiting -= envelope.count
