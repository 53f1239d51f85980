"""The duty books in ``state_dir/duty.db``: append-only, hash-chained records (SPEC §11).

A record is never changed or removed: what it says is fixed when it is written, with who
wrote it and when; a correction is an addendum, a record of its own naming the record and
the reason. Each book is a chain: a record's ``hash`` is SHA-256 over the previous
record's hash and its own canonical JSON, so a row edited in the database (a changed
time, a removed visit) breaks the chain from there on, which :meth:`DutyBooks.verify`
(``campus-ingest duty verify``) finds. The chain shows tampering; it cannot stop someone
who rewrites the whole file (a copy in the backups can).

Each book's head (``heads``: its first id and the hash before it, its last id and hash)
is written with every record, so records removed from the end are found too, and ids are
never given twice. Retention (visitors' personal data, SPEC §11) is the one exception to
"never removed": records past their keeping time are cut from the *start* of a chain, and
the head keeps the last cut hash, so the rest still verifies. (Whoever rewrites the heads
with the records can hide a change: the backups keep older copies to compare.)
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from campuswatch.sqlitefile import DurableFile, open_durable, transaction
from ingest.errors import IngestError

GENESIS = "0" * 64
_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    book TEXT NOT NULL, id INTEGER NOT NULL, at_ms INTEGER NOT NULL, by TEXT NOT NULL,
    body TEXT NOT NULL, prev TEXT NOT NULL, hash TEXT NOT NULL,
    of INTEGER,  -- the record a follow-up is about (its body's "of")
    PRIMARY KEY (book, id)
);
CREATE INDEX IF NOT EXISTS records_at ON records(book, at_ms);
CREATE INDEX IF NOT EXISTS records_of ON records(book, of) WHERE of IS NOT NULL;
CREATE TABLE IF NOT EXISTS heads (
    book TEXT PRIMARY KEY, first_id INTEGER NOT NULL, first_prev TEXT NOT NULL,
    last_id INTEGER NOT NULL, last_hash TEXT NOT NULL
);
"""
Also = Callable[[list["Record"]], tuple[str, dict[str, Any]] | None]


class DutyError(IngestError):
    """The duty books cannot do what was asked: the message says why in English (the
    API's, the log's), ``zh`` in Chinese for the console's people."""

    def __init__(self, message: str, zh: str | None = None) -> None:
        super().__init__(message)
        self.zh = zh or message

    def say(self, lang: str) -> str:
        """Why, in the site's language."""
        return self.zh if lang == "zh" else str(self)


class AlreadyDone(DutyError):
    """A follow-up that may be made once was made already (``earlier`` says by whom)."""

    def __init__(self, earlier: Record) -> None:
        super().__init__(f"already done by {earlier.by}", f"{earlier.by} 已经做过了")
        self.earlier = earlier


@dataclass(frozen=True, slots=True)
class Record:
    """One saved record of a book."""

    book: str
    id: int
    at_ms: int
    by: str
    body: dict[str, Any]
    hash: str

    def as_json(self) -> dict[str, Any]:
        """What the API answers: the body with its id, who and when."""
        return {**self.body, "id": self.id, "at": self.at_ms, "by": self.by}


def chain_hash(prev: str, book: str, rid: int, at_ms: int, by: str, body: str) -> str:
    """The hash a record must carry after ``prev``."""
    canonical = orjson.dumps([prev, book, rid, at_ms, by, body])
    return hashlib.sha256(canonical).hexdigest()


def _record(row: sqlite3.Row) -> Record:
    body = orjson.loads(row["body"])
    return Record(row["book"], row["id"], row["at_ms"], row["by"], body, row["hash"])


class DutyBooks(DurableFile):
    """Every duty book; thread-safe."""

    closed_error = DutyError
    what = "the duty books"

    def __init__(self, path: Path) -> None:
        self.path = path
        super().__init__(threading.Lock())

    def open(self) -> None:
        """Open or create the file."""
        try:
            self._db = open_durable(self.path, _SCHEMA, rows=True)
        except (sqlite3.Error, OSError) as exc:
            raise DutyError(f"cannot open {self.path}: {exc}") from exc

    def append(self, book: str, at_ms: int, by: str, body: dict[str, Any]) -> Record:
        """Save a new record at the end of ``book``'s chain; it gets the next id."""
        with self._lock, transaction(self.db) as db:
            return self._append(db, book, at_ms, by, body)

    def append_many(
        self, book: str, at_ms: int, by: str, bodies: list[dict[str, Any]]
    ) -> list[Record]:
        """Save several records of one book in one transaction (all or none)."""
        with self._lock, transaction(self.db) as db:
            return [self._append(db, book, at_ms, by, body) for body in bodies]

    def follow_up(
        self,
        book: str,
        of: Record,
        at_ms: int,
        by: str,
        body: dict[str, Any],
        *,
        once: bool = False,
        check: Callable[[list[Record]], None] | None = None,
        also: Also | None = None,
    ) -> Record:
        """Save a record of ``book`` about record ``of`` (a sign-out, a confirmation, a
        state, an addendum): ``once`` refuses a second one (AlreadyDone); ``check`` sees
        the earlier ones and may refuse; ``also`` makes, from the earlier ones, a record
        of another book that goes with it (an approved swap's roster change). Checked
        and saved in one transaction, so two at once cannot both pass."""
        with self._lock, transaction(self.db) as db:
            rows = db.execute(
                "SELECT * FROM records WHERE book = ? AND of = ? ORDER BY id", (book, of.id)
            ).fetchall()
            earlier = [_record(r) for r in rows]
            if once and earlier:
                raise AlreadyDone(earlier[0])
            if check is not None:
                check(earlier)
            saved = self._append(db, book, at_ms, by, {"of": of.id, **body})
            extra = also(earlier) if also is not None else None
            if extra is not None:
                self._append(db, extra[0], at_ms, by, extra[1])
            return saved

    def _append(
        self, db: sqlite3.Connection, book: str, at_ms: int, by: str, body: dict[str, Any]
    ) -> Record:
        head = db.execute("SELECT * FROM heads WHERE book = ?", (book,)).fetchone()
        rid, prev = (head["last_id"] + 1, head["last_hash"]) if head else (1, GENESIS)
        text = orjson.dumps(body).decode()
        digest = chain_hash(prev, book, rid, at_ms, by, text)
        of = body.get("of") if isinstance(body.get("of"), int) else None
        db.execute(
            "INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (book, rid, at_ms, by, text, prev, digest, of),
        )
        if head is None:
            db.execute("INSERT INTO heads VALUES (?, 1, ?, ?, ?)", (book, GENESIS, rid, digest))
        else:
            db.execute(
                "UPDATE heads SET last_id = ?, last_hash = ? WHERE book = ?", (rid, digest, book)
            )
        return Record(book, rid, at_ms, by, orjson.loads(text), digest)

    def get(self, book: str, rid: int) -> Record | None:
        """One record by id."""
        with self._lock:
            row = self.db.execute(
                "SELECT * FROM records WHERE book = ? AND id = ?", (book, rid)
            ).fetchone()
        return _record(row) if row else None

    def between(self, book: str, start_ms: int, end_ms: int, limit: int = 5000) -> list[Record]:
        """Records saved in [start_ms, end_ms), oldest first."""
        with self._lock:
            rows = self.db.execute(
                "SELECT * FROM records WHERE book = ? AND at_ms >= ? AND at_ms < ?"
                " ORDER BY id LIMIT ?",
                (book, start_ms, end_ms, limit),
            ).fetchall()
        return [_record(r) for r in rows]

    def about(self, book: str, rid: int) -> list[Record]:
        """The records of ``book`` (a follow-up book such as ``visitors.out``) whose ``of``
        names record ``rid``, oldest first."""
        with self._lock:
            rows = self.db.execute(
                "SELECT * FROM records WHERE book = ? AND of = ? ORDER BY id", (book, rid)
            ).fetchall()
        return [_record(r) for r in rows]

    def without(self, book: str, follow: str) -> list[Record]:
        """The records of ``book`` that no record of ``follow`` is about (visitors not
        signed out), oldest first."""
        with self._lock:
            rows = self.db.execute(
                "SELECT * FROM records r WHERE r.book = ? AND NOT EXISTS"
                " (SELECT 1 FROM records f WHERE f.book = ? AND f.of = r.id) ORDER BY r.id",
                (book, follow),
            ).fetchall()
        return [_record(r) for r in rows]

    def last(self, book: str, count: int) -> list[Record]:
        """The newest ``count`` records of ``book``, oldest first."""
        with self._lock:
            rows = self.db.execute(
                "SELECT * FROM records WHERE book = ? ORDER BY id DESC LIMIT ?", (book, count)
            ).fetchall()
        return [_record(r) for r in reversed(rows)]

    def all(self, book: str) -> list[Record]:
        """Every record of ``book``, oldest first."""
        with self._lock:
            rows = self.db.execute(
                "SELECT * FROM records WHERE book = ? ORDER BY id", (book,)
            ).fetchall()
        return [_record(r) for r in rows]

    def cut_before(self, book: str, before_ms: int) -> int:
        """Remove the records of ``book`` saved before ``before_ms`` from the start of its
        chain (retention); the rest still verifies. Returns how many went."""
        with self._lock, transaction(self.db) as db:
            last = db.execute(
                "SELECT id, hash FROM records WHERE book = ? AND at_ms < ? ORDER BY id DESC"
                " LIMIT 1",
                (book, before_ms),
            ).fetchone()
            if last is None:
                return 0
            gone = db.execute(
                "DELETE FROM records WHERE book = ? AND id <= ?", (book, last["id"])
            ).rowcount
            db.execute(
                "UPDATE heads SET first_id = ?, first_prev = ? WHERE book = ?",
                (last["id"] + 1, last["hash"], book),
            )
        return gone

    def verify(self) -> list[str]:
        """Every break of a chain, as ``book #id: why`` (empty: every book is intact)."""
        problems: list[str] = []
        with self._lock:
            # One read transaction: what another process appends meanwhile is not half seen.
            self.db.execute("BEGIN")
            try:
                problems = self._verify()
            finally:
                self.db.execute("COMMIT")
        return problems

    def _verify(self) -> list[str]:
        problems: list[str] = []
        heads = self.db.execute("SELECT * FROM heads").fetchall()
        for head in heads:
            rows = self.db.execute(
                "SELECT * FROM records WHERE book = ? ORDER BY id", (head["book"],)
            ).fetchall()
            problems.extend(_check_chain(head, rows))
        known = {h["book"] for h in heads}
        for (book,) in self.db.execute("SELECT DISTINCT book FROM records"):
            if book not in known:
                problems.append(f"{book}: records without the book's head")
        return problems


def _check_chain(head: sqlite3.Row, rows: list[sqlite3.Row]) -> list[str]:
    book = head["book"]
    problems: list[str] = []
    prev, expected = head["first_prev"], head["first_id"]
    for row in rows:
        rid = row["id"]
        if rid != expected:
            problems.append(f"{book} #{rid}: records #{expected}–#{rid - 1} are missing")
        if row["prev"] != prev:
            problems.append(f"{book} #{rid}: does not follow the record before it")
        digest = chain_hash(row["prev"], book, rid, row["at_ms"], row["by"], row["body"])
        if digest != row["hash"]:
            problems.append(f"{book} #{rid}: changed after it was saved")
        prev, expected = row["hash"], rid + 1
    if expected <= head["last_id"] or prev != head["last_hash"]:
        problems.append(f"{book}: records #{expected}–#{head['last_id']} are missing at the end")
    return problems
