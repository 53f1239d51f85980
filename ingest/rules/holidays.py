"""China's official public holidays and make-up working days (调休), from the maintained
``chinesecalendar`` package, which carries the State Council's yearly announcements.

Only years the installed data covers are answered; for any other year the weekdays
apply (and ``campus-ingest check`` and the start-up log say which years are covered:
update the package each December, when the next year is announced).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache

from chinese_calendar import constants

from ingest.config.schema import CalendarConfig


@dataclass(frozen=True, slots=True)
class OfficialDay:
    """A day the official calendar changes: off (``closed``) or a make-up working day."""

    day: date
    closed: bool
    name_en: str
    name_zh: str


@cache
def _chinese_names() -> dict[str, str]:
    return {holiday.value: holiday.chinese for holiday in constants.Holiday}


class OfficialCalendar:
    """The official days off and make-up days of ``cn``."""

    def __init__(self) -> None:
        self._closed: dict[date, str] = dict(constants.holidays)
        self._open: dict[date, str] = dict(constants.workdays)
        self.years = frozenset(d.year for d in self._closed)

    def covers(self, day: date) -> bool:
        """Whether the installed data has ``day``'s year."""
        return day.year in self.years

    def closed(self, day: date) -> bool:
        """An official day off (a weekend inside a holiday counts too)."""
        return day in self._closed

    def make_up(self, day: date) -> bool:
        """An official make-up working day (a Saturday or Sunday that is worked)."""
        return day in self._open

    def days_of(self, year: int) -> list[OfficialDay]:
        """Every day of ``year`` the official calendar changes, in date order."""
        names = _chinese_names()
        days = [OfficialDay(d, True, n, names.get(n, n)) for d, n in self._closed.items()]
        days += [OfficialDay(d, False, n, names.get(n, n)) for d, n in self._open.items()]
        return sorted((d for d in days if d.day.year == year), key=lambda d: d.day)

    def covered(self) -> str:
        """The years covered, as ``2004-2026``."""
        return f"{min(self.years)}-{max(self.years)}" if self.years else "none"


def calendar_days(calendar: CalendarConfig, year: int) -> list[tuple[date, bool, str]]:
    """Every day of ``year`` a config's calendar changes: (day, closed, where from), the
    config's own days winning over the official ones (as the schedules apply them)."""
    days: dict[date, tuple[bool, str]] = {}
    if calendar.official == "cn":
        for official in OfficialCalendar().days_of(year):
            days[official.day] = (official.closed, f"{official.name_zh} {official.name_en}")
    for closed, ranges in ((True, calendar.closed), (False, calendar.open)):
        for first, last in ranges:
            for day in _days(first, last):
                if day.year == year:
                    days[day] = (closed, "calendar.closed" if closed else "calendar.open")
    open_days = {d for d, (closed, _) in days.items() if not closed}
    return sorted(
        (d, closed and d not in open_days, source) for d, (closed, source) in days.items()
    )


def _days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)
