"""People, their sessions and the login throttle, in ``state_dir/people.db`` (SQLite).

Passwords are kept as Argon2id hashes (argon2-cffi) with OWASP's parameters (19 MiB, two
passes, one lane; a hash made with others is renewed at the next login), computed on
``HASHING_THREADS`` threads of their own with at most ``HASHING_QUEUE`` waiting, so a
flood of logins cannot take the service's memory (and its alarms) down: on the web
server's many threads each would leave its 19 MiB in a malloc arena of its own. A
session is a random token in a cookie; only its SHA-256 is stored, so a copy of the
database opens no session. Sessions end after ``session_idle`` without use, after
``session_max`` in any case, at logout, and when the person is disabled, removed or gets
a new password. Failed logins are counted per login name (also for names nobody has):
after ``slow_after`` failures in a row each next try must wait 1, 2, 4 ... seconds, after
``lock_after`` the login is locked for ``lockout``. An attempt is counted, atomically,
before its password is checked (a success then forgets the count), so concurrent tries
cannot race past the lock; a disabled account answers exactly like a wrong password.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

import orjson
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from campuswatch.clock import Clock, now_ms
from campuswatch.sqlitefile import DurableFile, open_durable, transaction
from ingest.config.console import ConsoleConfig
from ingest.errors import IngestError
from ingest.people.checks import (
    PeopleError,
    check_areas,
    check_login,
    check_name,
    check_password,
)
from ingest.people.contacts import SCHEMA as CONTACTS_SCHEMA
from ingest.people.contacts import Contacts

log = logging.getLogger(__name__)
_T = TypeVar("_T")

Role = Literal["viewer", "guard", "admin"]
ROLES: tuple[Role, ...] = ("viewer", "guard", "admin")
_SEEN_WRITE_MS = 60_000  # a session's last use is written at most once a minute
HASHING_THREADS = 2
HASHING_QUEUE = 16

_SCHEMA = """
CREATE TABLE IF NOT EXISTS people (
    login TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL,
    password_hash TEXT NOT NULL, disabled INTEGER NOT NULL DEFAULT 0,
    created_ms INTEGER NOT NULL, changed_ms INTEGER NOT NULL,
    areas TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY, login TEXT NOT NULL,
    created_ms INTEGER NOT NULL, seen_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_login ON sessions(login);
CREATE TABLE IF NOT EXISTS login_failures (
    login TEXT PRIMARY KEY, failures INTEGER NOT NULL, last_ms INTEGER NOT NULL,
    locked_until_ms INTEGER NOT NULL DEFAULT 0
);
"""


class _Busy(Exception):
    """Too many hashes wait already."""


class PersonExists(PeopleError):
    """Adding refuses a login that exists: changing a person is an explicit action."""


class LoginRefused(IngestError):
    """A login attempt failed; ``reason`` is ``wrong`` (also for a disabled account: no
    password oracle), ``wait``, ``locked`` or ``busy`` (too many logins being checked)."""

    def __init__(self, reason: str, message: str, retry_after_s: int = 0) -> None:
        super().__init__(message)
        self.reason = reason
        self.retry_after_s = retry_after_s


@dataclass(frozen=True, slots=True)
class Person:
    """One person who may log in."""

    login: str
    name: str
    role: Role
    disabled: bool = False
    # Building ids (SPEC §9 v3): they acknowledge alerts there only; none: everywhere.
    areas: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Session:
    """A logged-in person, as a request's cookie names them."""

    token: str
    person: Person


def _person(row: sqlite3.Row) -> Person:
    areas = tuple(a for a in row["areas"].split(",") if a)
    return Person(row["login"], row["name"], row["role"], bool(row["disabled"]), areas)


def _add_areas(db: sqlite3.Connection) -> None:
    """Give the people of a database made before version 3 their (empty) areas."""
    columns = [row[1] for row in db.execute("PRAGMA table_info(people)")]
    if "areas" not in columns:
        db.execute("ALTER TABLE people ADD COLUMN areas TEXT NOT NULL DEFAULT ''")


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class PeopleStore(DurableFile):
    """People, sessions and login failures; thread-safe."""

    closed_error = PeopleError
    what = "the people database"

    def __init__(self, path: Path, config: ConsoleConfig, clock: Clock) -> None:
        self.path = path
        self.config = config
        self.clock = clock
        self._hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
        self._hashing = ThreadPoolExecutor(HASHING_THREADS, thread_name_prefix="argon2")
        self._queued = threading.BoundedSemaphore(HASHING_THREADS + HASHING_QUEUE)
        self._dummy = ""  # verified for unknown logins, so they take as long as known ones
        # Counts changes that may end sessions (logout, disable, new password or role,
        # removal): a live stream re-checks its session when it moved.
        self.sessions_changed = 0
        super().__init__(threading.Lock())

    def open(self) -> None:
        """Open or create the database."""
        try:
            self._db = open_durable(self.path, _SCHEMA + CONTACTS_SCHEMA, rows=True)
            _add_areas(self._db)
        except sqlite3.Error as exc:
            raise PeopleError(f"cannot open {self.path}: {exc}") from exc
        self._dummy = self._hash(secrets.token_hex(16))  # a flood at start finds it made

    # ------------------------------------------------------------------ people

    def add(
        self,
        login: str,
        name: str,
        role: str,
        password: str,
        areas: Iterable[str] = (),
        contacts: Contacts | None = None,
    ) -> Person:
        """Add a person; a login that exists is refused (PersonExists) and nothing changes,
        so a typo cannot replace the night guard's name and password."""
        check_login(login)
        if role not in ROLES:
            raise PeopleError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        person = Person(login, check_name(name), role, areas=check_areas(areas))
        digest = self._hash(check_password(password))
        now = now_ms(self.clock)
        with self._lock, transaction(self.db) as db:
            exists = db.execute("SELECT 1 FROM people WHERE login = ?", (login,)).fetchone()
            if exists:
                raise PersonExists(
                    f"the login {login!r} exists already: nothing was changed (change that"
                    " person with 'users passwd' or on the people page)"
                )
            db.execute(
                "INSERT INTO people VALUES (?, ?, ?, ?, 0, ?, ?, ?)",
                (login, person.name, role, digest, now, now, ",".join(person.areas)),
            )
            if contacts is not None:
                db.execute(
                    "INSERT INTO contacts VALUES (?, ?, ?, ?, ?)", (login, *contacts.as_row())
                )
        return person

    def change(self, login: str, name: str, role: str, areas: Iterable[str] = ()) -> Person:
        """Change a person's name, role and areas. A new role ends their sessions (it may
        allow less than what they logged in with); areas are read with the session at
        every request, so new ones apply at once and nobody is logged out (an admin
        giving themselves an area stays in)."""
        if role not in ROLES:
            raise PeopleError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        person = Person(login, check_name(name), role, areas=check_areas(areas))
        with self._lock, transaction(self.db) as db:
            row = db.execute("SELECT role, areas FROM people WHERE login = ?", (login,)).fetchone()
            if row is None:
                raise PeopleError(f"nobody has the login {login!r}")
            areas_text = ",".join(person.areas)
            db.execute(
                "UPDATE people SET name = ?, role = ?, areas = ?, changed_ms = ? WHERE login = ?",
                (person.name, role, areas_text, now_ms(self.clock), login),
            )
            if row["role"] != role:
                db.execute("DELETE FROM sessions WHERE login = ?", (login,))
            if (row["role"], row["areas"]) != (role, areas_text):
                self.sessions_changed += 1
        return person

    def people(self) -> list[Person]:
        """Everyone, by login."""
        with self._lock:
            rows = self.db.execute(
                "SELECT login, name, role, disabled, areas FROM people ORDER BY login"
            ).fetchall()
        return [_person(r) for r in rows]

    def person(self, login: str) -> Person | None:
        """One person by login."""
        return next((p for p in self.people() if p.login == login), None)

    def set_password(self, login: str, password: str) -> None:
        """A new password; the person's sessions end."""
        digest = self._hash(check_password(password))
        self._change(login, "password_hash = ?", digest)

    def set_disabled(self, login: str, disabled: bool) -> None:
        """Disable (sessions end at once) or enable a person."""
        self._change(login, "disabled = ?", int(disabled))

    def set_contacts(self, login: str, contacts: Contacts) -> None:
        """Replace a person's contacts (sessions stay: nothing they may do changed)."""
        with self._lock, transaction(self.db) as db:
            if db.execute("SELECT 1 FROM people WHERE login = ?", (login,)).fetchone() is None:
                raise PeopleError(f"nobody has the login {login!r}")
            db.execute(
                "INSERT OR REPLACE INTO contacts VALUES (?, ?, ?, ?, ?)",
                (login, *contacts.as_row()),
            )

    def contacts(self, logins: list[str]) -> dict[str, Contacts]:
        """The contacts of these people (those without any are left out)."""
        with self._lock:
            rows = self.db.execute(
                "SELECT * FROM contacts WHERE login IN (SELECT value FROM json_each(?))",
                (orjson.dumps(logins).decode(),),
            ).fetchall()
        return {
            r["login"]: Contacts(r["phone"], r["email"], r["wecom_userid"], r["dingtalk_mobile"])
            for r in rows
        }

    def remove(self, login: str) -> None:
        """Remove a person, their sessions and contacts."""
        with self._lock, transaction(self.db) as db:
            if db.execute("DELETE FROM people WHERE login = ?", (login,)).rowcount == 0:
                raise PeopleError(f"nobody has the login {login!r}")
            db.execute("DELETE FROM contacts WHERE login = ?", (login,))
            db.execute("DELETE FROM sessions WHERE login = ?", (login,))
            self.sessions_changed += 1

    def _change(self, login: str, assignment: str, value: object) -> None:
        with self._lock, transaction(self.db) as db:
            changed = db.execute(
                f"UPDATE people SET {assignment}, changed_ms = ? WHERE login = ?",  # noqa: S608
                (value, now_ms(self.clock), login),
            ).rowcount
            if changed == 0:
                raise PeopleError(f"nobody has the login {login!r}")
            db.execute("DELETE FROM sessions WHERE login = ?", (login,))
            self.sessions_changed += 1

    # ------------------------------------------------------------------ logging in

    def log_in(self, login: str, password: str) -> Session:
        """A new session, or LoginRefused (wrong, wait, locked or busy)."""
        now = now_ms(self.clock)
        key = login.strip().lower()[:64]
        self._count_attempt(key, now)
        with self._lock:
            row = self.db.execute(
                "SELECT login, name, role, disabled, areas, password_hash FROM people"
                " WHERE login = ?",
                (login.strip(),),
            ).fetchone()
        right = self._verify(row["password_hash"] if row else self._dummy, password)
        if not right or row is None or row["disabled"]:  # one answer: no password oracle
            raise LoginRefused("wrong", "the login or the password is wrong")
        person = _person(row)
        renewed = self._renewed_hash(row["password_hash"], password)
        token = secrets.token_urlsafe(32)
        with self._lock, transaction(self.db) as db:
            db.execute("DELETE FROM login_failures WHERE login = ?", (key,))
            if renewed:  # the same password, hashed anew: the person's sessions stay
                db.execute(
                    "UPDATE people SET password_hash = ? WHERE login = ? AND password_hash = ?",
                    (renewed, person.login, row["password_hash"]),
                )
            db.execute(
                "INSERT INTO sessions VALUES (?, ?, ?, ?)",
                (_hash_token(token), person.login, now, now),
            )
        log.info("%s logged in", person.login)
        return Session(token, person)

    def _verify(self, digest: str, password: str) -> bool:
        try:
            return self._on_hashing_thread(self._hasher.verify, digest, password)
        except (VerificationError, InvalidHashError):
            return False
        except _Busy:
            raise LoginRefused(
                "busy", "too many logins at once: try again in a moment", 5
            ) from None

    def _hash(self, password: str) -> str:
        try:
            return self._on_hashing_thread(self._hasher.hash, password)
        except _Busy:
            raise PeopleError("too many logins at once: try again in a moment") from None

    def _on_hashing_thread(self, work: Callable[..., _T], *args: str) -> _T:
        if not self._queued.acquire(blocking=False):
            raise _Busy
        try:
            return self._hashing.submit(work, *args).result()
        finally:
            self._queued.release()

    def _renewed_hash(self, digest: str, password: str) -> str | None:
        """A new hash of the password when ``digest`` was made with other parameters
        (None when it was not, or when hashing is busy: renewed at a later login)."""
        if not self._hasher.check_needs_rehash(digest):
            return None
        try:
            return self._hash(password)
        except PeopleError:
            return None

    def _count_attempt(self, key: str, now: int) -> None:
        """Refuse a login that must wait or is locked; else count the attempt as a failure
        (in one transaction, before the password is checked; a success forgets it)."""
        lock_ms = int(self.config.lockout.total_seconds() * 1000)
        with self._lock, transaction(self.db) as db:
            db.execute(
                "DELETE FROM login_failures WHERE last_ms < ? AND locked_until_ms < ?",
                (now - 2 * lock_ms, now),
            )
            row = db.execute(
                "SELECT failures, last_ms, locked_until_ms FROM login_failures WHERE login = ?",
                (key,),
            ).fetchone()
            if row is not None:
                self._refuse_early(row, now)
            db.execute(
                "INSERT INTO login_failures VALUES (?, 1, ?, 0) ON CONFLICT(login) DO UPDATE"
                " SET failures = failures + 1, last_ms = excluded.last_ms",
                (key, now),
            )
            db.execute(
                "UPDATE login_failures SET locked_until_ms = ?, failures = 0"
                " WHERE login = ? AND failures >= ?",
                (now + lock_ms, key, self.config.lock_after),
            )

    def _refuse_early(self, row: sqlite3.Row, now: int) -> None:
        if row["locked_until_ms"] > now:
            wait = (row["locked_until_ms"] - now + 999) // 1000
            raise LoginRefused("locked", "too many failed logins: this login is locked", wait)
        slow = row["failures"] - self.config.slow_after
        if slow >= 0:
            ready = row["last_ms"] + 1000 * 2 ** min(slow, 10)
            if now < ready:
                wait = (ready - now + 999) // 1000
                raise LoginRefused("wait", "too many failed logins: wait before trying again", wait)

    # ------------------------------------------------------------------ sessions

    def session(self, token: str | None) -> Session | None:
        """The session of a cookie's token, if it is still valid (its use is recorded)."""
        if not token:
            return None
        now = now_ms(self.clock)
        idle = int(self.config.session_idle.total_seconds() * 1000)
        longest = int(self.config.session_max.total_seconds() * 1000)
        token_hash = _hash_token(token)
        with self._lock:
            row = self.db.execute(
                "SELECT s.created_ms, s.seen_ms, p.login, p.name, p.role, p.disabled, p.areas"
                " FROM sessions s"
                " JOIN people p ON p.login = s.login WHERE s.token_hash = ? AND p.disabled = 0",
                (token_hash,),
            ).fetchone()
            if row is None:
                return None
            if now - row["seen_ms"] > idle or now - row["created_ms"] > longest:
                self.db.execute("DELETE FROM sessions WHERE token_hash = ?", (token_hash,))
                return None
            if now - row["seen_ms"] >= _SEEN_WRITE_MS:
                self.db.execute(
                    "UPDATE sessions SET seen_ms = ? WHERE token_hash = ?", (now, token_hash)
                )
        return Session(token, _person(row))

    def log_out(self, token: str) -> None:
        """End a session."""
        with self._lock:
            self.db.execute("DELETE FROM sessions WHERE token_hash = ?", (_hash_token(token),))
            self.sessions_changed += 1
