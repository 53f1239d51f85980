"""The duty roster (值班表, SPEC §11): who is on which shift of which day, and who is on duty
now. Weekends and closed days are shifts like any other (a holiday needs its people too).

Every change is a record of the ``roster`` book (who changed it and when); the roster of a
day and shift is its latest record. The service keeps the current roster in memory, read
from the book at start and updated as it writes, so "who is on duty" costs no query.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, StringConstraints

from campuswatch.clock import Clock, now_ms
from ingest.config.duty import DutyConfig
from ingest.duty.books import DutyBooks, DutyError

BOOK = "roster"
AHEAD_DAYS = 14  # empty shifts this far ahead are warned of
MAX_PEOPLE = 20
Login = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class RosterEntry(BaseModel):
    """People on one shift of one day (``date``: the day the shift starts)."""

    date: date
    shift: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    people: list[Login] = Field(max_length=MAX_PEOPLE)


class OnDutyPerson(BaseModel):
    """Someone on duty, as the API names them."""

    login: str
    name: str


class DutyNow(BaseModel):
    """``GET /api/duty/now`` (SPEC §11)."""

    shift: str | None
    since: int | None
    until: int | None
    people: list[OnDutyPerson]


class RosterRefused(DutyError):
    """A roster change that cannot be saved (the message names the entry and why)."""


# Everyone on duty may be: login -> display name (people who are disabled left out).
Names = Callable[[], dict[str, str]]


class Roster:
    """The roster of one site; thread-safe."""

    def __init__(
        self, books: DutyBooks, config: DutyConfig, timezone: str, clock: Clock, names: Names
    ) -> None:
        self.books = books
        self.config = config
        self.tz = ZoneInfo(timezone)
        self.clock = clock
        self.names = names
        self._lock = threading.Lock()
        # Held across a change's write and its taking effect here, so two changes at
        # once apply in the order they were saved (see writing()).
        self._write = threading.RLock()
        self._entries: dict[tuple[date, str], list[str]] = {}

    def load(self) -> None:
        """Read the roster from its book (at start)."""
        entries = {}
        for record in self.books.all(BOOK):
            entry = RosterEntry.model_validate(record.body)
            entries[(entry.date, entry.shift)] = entry.people
        with self._lock:
            self._entries = entries

    def put(self, entries: list[RosterEntry], by: str) -> list[RosterEntry]:
        """Replace the entries listed and keep the others (SPEC: ``PUT /api/duty/roster``);
        all or nothing: one unknown shift or login refuses the whole change. Returns what
        was saved (one entry per day and shift, the last given)."""
        with self._write:
            self.check(entries)
            saved = _last_of_each(entries)
            bodies = [e.model_dump(mode="json") for e in saved]
            self.books.append_many(BOOK, now_ms(self.clock), by, bodies)
            self.remember(saved)
        return saved

    def writing(self) -> threading.RLock:
        """Hold while a change is decided from the roster, saved and remembered (a swap's
        approval): no other change comes in between."""
        return self._write

    def check(self, entries: list[RosterEntry]) -> None:
        """RosterRefused for an unknown shift or a login nobody has (the entry and why)."""
        names = self.names()
        for i, entry in enumerate(entries):
            if entry.shift not in self.config.shifts:
                known = ", ".join(self.config.shifts)
                raise RosterRefused(
                    f"[{i}].shift: no shift {entry.shift!r} (shifts: {known or 'none configured'})",
                    f"没有 {entry.shift} 这个班次（有：{known or '未设置班次'}）",
                )
            for login in entry.people:
                if login not in names:
                    raise RosterRefused(
                        f"[{i}].people: nobody who may log in is {login!r}",
                        f"没有登录名为 {login} 的人",
                    )

    def remember(self, entries: list[RosterEntry]) -> None:
        """Entries saved in the roster's book (here or with another record) now apply."""
        with self._lock:
            for entry in entries:
                self._entries[(entry.date, entry.shift)] = list(entry.people)

    def entries(self, first: date, last: date) -> list[RosterEntry]:
        """Every shift of the days ``first``..``last``, empty ones included."""
        out = []
        day = first
        with self._lock:
            while day <= last:
                for shift in self.config.shifts:
                    people = self._entries.get((day, shift), [])
                    out.append(RosterEntry(date=day, shift=shift, people=list(people)))
                day += timedelta(days=1)
        return out

    def now(self) -> DutyNow:
        """The shift that covers now and its people (SPEC ``GET /api/duty/now``)."""
        moment = datetime.fromtimestamp(self.clock.time(), self.tz)
        found = self._shift_at(moment)
        if found is None:
            return DutyNow(shift=None, since=None, until=None, people=[])
        shift, start, end = found
        with self._lock:
            logins = list(self._entries.get((start.date(), shift), []))
        names = self.names()
        people = [
            OnDutyPerson(login=login, name=names[login]) for login in logins if login in names
        ]
        since, until = int(start.timestamp() * 1000), int(end.timestamp() * 1000)
        return DutyNow(shift=shift, since=since, until=until, people=people)

    def empty_ahead(self, days: int = AHEAD_DAYS) -> list[tuple[date, str]]:
        """Shifts from the current one to ``days`` ahead that nobody is on."""
        moment = datetime.fromtimestamp(self.clock.time(), self.tz)
        current = self._shift_at(moment)
        start = current[1].date() if current else moment.date()
        names = self.names()
        empty = []
        for entry in self.entries(start, moment.date() + timedelta(days=days)):
            begins = self._start(entry.date, entry.shift)
            ends = begins + self.config.shifts[entry.shift].length()
            if ends > moment and not any(login in names for login in entry.people):
                empty.append((entry.date, entry.shift))
        return empty

    def _start(self, day: date, shift: str) -> datetime:
        return datetime.combine(day, self.config.shifts[shift].from_, self.tz)

    def _shift_at(self, moment: datetime) -> tuple[str, datetime, datetime] | None:
        """The shift covering ``moment``, with its start and end (a night shift that began
        yesterday evening covers this early morning)."""
        for day in (moment.date(), moment.date() - timedelta(days=1)):
            for shift, times in self.config.shifts.items():
                start = self._start(day, shift)
                end = start + times.length()
                if start <= moment < end:
                    return shift, start, end
        return None


def _last_of_each(entries: list[RosterEntry]) -> list[RosterEntry]:
    """One entry per day and shift, the last given winning (as if applied in order)."""
    return list({(e.date, e.shift): e for e in entries}.values())
