"""Opening the SQLite files both programs keep their durable state in."""

from __future__ import annotations

import sqlite3
from pathlib import Path


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
