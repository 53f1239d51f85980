"""A durable SQLite state file whose writers group their changes in one transaction.

The alert database (``alerts.db``) is one: its alerts, their history, condition states
and the notification outbox are written by different packages (``rules``, ``outbox``,
``reports``) but always together, so a crash can never leave an alert fired without its
notifications queued (the transactional outbox).

When the file cannot be written (a full disk), a transaction can be run *in memory*
instead: its writes are dropped and a row it inserts gets a negative id; each writer
keeps what it must not lose (the outbox its notifications) for the caller to deliver.
"""

from __future__ import annotations

import itertools
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from campuswatch.sqlitefile import DurableFile


class Writer(Protocol):
    """What a transaction's writes go through: the connection, or one that writes nothing."""

    def execute(self, sql: str, parameters: Any = (), /) -> WriteResult:
        """Run one statement of the transaction."""
        ...


class WriteResult(Protocol):
    """The part of a cursor writers read: the id of an inserted row."""

    @property
    def lastrowid(self) -> int | None:
        """The inserted row's id."""
        ...

    @property
    def rowcount(self) -> int:
        """How many rows changed."""
        ...


class StateDatabase(DurableFile):
    """Thread-safe access to one state file; writers change it inside ``transaction()``."""

    def __init__(self) -> None:
        super().__init__(threading.RLock())
        self._in_unit = False
        self._begun = False
        self._in_memory = False
        self._memory_ids = itertools.count(-1, -1)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run the enclosed changes as one durable transaction (or none of them).

        The transaction is begun before the first change and committed at the end; a
        block that changes nothing costs nothing. Every write must happen inside one
        (``closed_error`` otherwise), so no path can commit related changes apart.
        """
        self.start_transaction()
        try:
            yield
        except BaseException:
            self.end_transaction(commit=False)
            raise
        self.end_transaction(commit=True)

    def start_transaction(self, *, in_memory: bool = False) -> None:
        """Begin what :meth:`transaction` does (for callers that cannot use ``with``);
        this thread holds the file until :meth:`end_transaction`. ``in_memory``: write
        nothing (see :attr:`in_memory`)."""
        self._lock.acquire()
        if self._in_unit:
            self._lock.release()
            raise self.closed_error(f"transactions of {self.what} do not nest")
        self._in_unit, self._begun, self._in_memory = True, False, in_memory

    def end_transaction(self, *, commit: bool) -> None:
        """Commit (or roll back) what changed since :meth:`start_transaction`."""
        try:
            if self._begun:
                self.db.execute("COMMIT" if commit else "ROLLBACK")
        except sqlite3.Error:
            if self.db.in_transaction:  # a commit that failed (disk full) leaves it open
                self.db.execute("ROLLBACK")
            raise
        finally:
            self._in_unit = self._begun = self._in_memory = False
            self._lock.release()

    @property
    def in_transaction(self) -> bool:
        """True between :meth:`start_transaction` and :meth:`end_transaction`."""
        return self._in_unit

    @property
    def in_memory(self) -> bool:
        """True inside a transaction run in memory: writers keep what they must not lose."""
        return self._in_memory

    def writer(self) -> Writer:
        """The connection, inside the current transaction (begun here on its first change)."""
        if not self._in_unit:
            raise self.closed_error(f"changes of {self.what} must be made inside transaction()")
        if self._in_memory:
            return _Unwritten(next(self._memory_ids))
        if not self._begun:
            self.db.execute("BEGIN IMMEDIATE")
            self._begun = True
        return self.db


class _Unwritten:
    """The connection of an in-memory transaction: writes nothing; a row it "inserts"
    gets a negative id."""

    rowcount = 0

    def __init__(self, rowid: int) -> None:
        self.lastrowid = rowid

    def execute(self, _sql: str, _parameters: Any = (), /) -> _Unwritten:
        return self
