"""Opening the SQLite files both programs keep their durable state in."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar


def open_durable(path: Path, schema: str, *, rows: bool = False) -> sqlite3.Connection:
    """Open (or create) ``path`` in WAL mode, fsyncing every commit, with ``schema`` applied.

    Autocommit mode (transactions are explicit ``BEGIN IMMEDIATE``/``COMMIT``), usable from
    any thread (callers serialise with their own lock); ``rows`` gives ``sqlite3.Row`` rows.
    Raises ``sqlite3.Error`` or ``OSError``: callers translate it into their own error.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    if rows:
        db.row_factory = sqlite3.Row
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")  # a commit survives a power cut
    db.executescript(schema)
    return db


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``, or ``ROLLBACK`` on error)
    on a connection of :func:`open_durable`; the caller holds its lock."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


class DurableFile:
    """Owns one durable SQLite connection: subclasses open it into ``_db`` under ``_lock``.

    ``closed_error`` is the subclass's own exception, raised when the file is used after
    ``close`` (or before ``open``), so callers see the package's error, not SQLite's.
    """

    closed_error: ClassVar[type[Exception]] = RuntimeError
    what: ClassVar[str] = "the database"

    def __init__(self, lock: threading.Lock | threading.RLock) -> None:
        self._lock = lock
        self._db: sqlite3.Connection | None = None

    def close(self) -> None:
        """Close the file (again is harmless)."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    @property
    def lock(self) -> threading.Lock | threading.RLock:
        """The lock to hold while using :attr:`db` (for helpers sharing the file)."""
        return self._lock

    @property
    def db(self) -> sqlite3.Connection:
        """The open connection (callers hold ``_lock`` while they use it)."""
        if self._db is None:
            raise self.closed_error(f"{self.what} is closed")
        return self._db
