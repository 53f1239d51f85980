"""Report periods in the site timezone: ISO weeks, calendar days and local hours.

A week is Monday 00:00 to Monday 00:00 *local* time, so a reading at 2026-11-22T20:00Z
(Monday 04:00 in Shanghai) belongs to the next ISO week there, not to the UTC one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from ingest.errors import IngestError

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


class PeriodError(IngestError, ValueError):
    """A week or date given by a person is not valid."""


@dataclass(frozen=True, slots=True)
class Period:
    """A half-open span ``[start, end)`` of local time, with its label."""

    label: str
    start: datetime
    end: datetime

    @property
    def start_s(self) -> int:
        """Start in epoch seconds."""
        return int(self.start.timestamp())

    @property
    def end_s(self) -> int:
        """End in epoch seconds."""
        return int(self.end.timestamp())

    def days(self) -> list[date]:
        """The local calendar days of the period."""
        first = self.start.date()
        return [first + timedelta(days=i) for i in range((self.end.date() - first).days)]


FIRST_DAY, LAST_DAY = date(2020, 1, 1), date(2100, 1, 1)


def parse_week(text: str, tz: ZoneInfo) -> Period:
    """``2026-W47`` as the local Monday-to-Monday span."""
    match = _WEEK.fullmatch(text)
    if not match:
        raise PeriodError(f"week {text!r} is not written YYYY-Www (e.g. 2026-W47)")
    try:
        monday = date.fromisocalendar(int(match[1]), int(match[2]), 1)
    except ValueError as exc:
        raise PeriodError(f"week {text!r} does not exist: {exc}") from exc
    _check_range(monday, text)
    return Period(text, local_midnight(monday, tz), local_midnight(monday + timedelta(7), tz))


def parse_day(text: str, tz: ZoneInfo) -> Period:
    """``2026-11-23`` as the local midnight-to-midnight span."""
    try:
        day = date.fromisoformat(text)
    except ValueError as exc:
        raise PeriodError(f"date {text!r} is not written YYYY-MM-DD: {exc}") from exc
    _check_range(day, text)
    return day_period(day, tz)


def _check_range(day: date, text: str) -> None:
    """Readings exist from 2020 on (SPEC §2); a period beyond 2099 is a typo."""
    if not FIRST_DAY <= day < LAST_DAY:
        raise PeriodError(
            f"{text!r} is outside the years reports cover ({FIRST_DAY.year}-{LAST_DAY.year - 1})"
        )


def day_period(day: date, tz: ZoneInfo) -> Period:
    """One local calendar day."""
    return Period(day.isoformat(), local_midnight(day, tz), local_midnight(day + timedelta(1), tz))


def week_of(day: date, tz: ZoneInfo) -> Period:
    """The ISO week holding ``day``."""
    year, week, _ = day.isocalendar()
    return parse_week(f"{year}-W{week:02d}", tz)


def shift_week(period: Period, weeks: int, tz: ZoneInfo) -> Period:
    """The ISO week ``weeks`` before (negative) or after ``period``'s."""
    return week_of(period.start.date() + timedelta(weeks=weeks), tz)


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """00:00 of ``day`` in ``tz`` (the first instant of the day where midnight is skipped)."""
    naive = datetime(day.year, day.month, day.day)  # noqa: DTZ001 (tz attached below)
    for minutes in range(0, 180, 30):  # DST gaps at midnight exist (e.g. America/Havana)
        local = (naive + timedelta(minutes=minutes)).replace(tzinfo=tz)
        if local.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == local.replace(tzinfo=None):
            return local
    return naive.replace(tzinfo=tz)
