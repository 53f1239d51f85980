"""Named weekly windows in the site timezone, with a calendar of closed and make-up days.

A window belongs to the local date it starts on; ``to`` earlier than ``from`` crosses
midnight into the next date. The calendar overrides the weekday of a date: a closed day
(holiday) is treated as a Sunday and a make-up working day (调休) as a Monday, so school
windows (``days: [mon..fri]``) skip holidays and apply on make-up Saturdays. The config's
own ``open`` and ``closed`` days come first, then the official calendar (``official:
cn``), then the weekday.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ingest.config.rules import ActiveConfig
from ingest.config.schema import CalendarConfig, ScheduleConfig
from ingest.rules.holidays import OfficialCalendar

_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# How far back to look for the end of the last window (school holidays last weeks).
_MAX_LOOKBACK_DAYS = 400


class ScheduleBook:
    """Answers "is this rule active now, and since when?" for the configured schedules."""

    def __init__(
        self, schedules: dict[str, ScheduleConfig], calendar: CalendarConfig, timezone: str
    ) -> None:
        self.schedules = schedules
        self.tz = ZoneInfo(timezone)
        self._closed = calendar.closed
        self._open = calendar.open
        self.official = OfficialCalendar() if calendar.official == "cn" else None

    def weekday(self, day: date) -> str:
        """The weekday a date counts as, after calendar overrides."""
        if any(first <= day <= last for first, last in self._open):
            return "mon"
        if any(first <= day <= last for first, last in self._closed):
            return "sun"
        if self.official is not None:
            if self.official.make_up(day):
                return "mon"
            if self.official.closed(day):
                return "sun"
        return _WEEKDAYS[day.weekday()]

    def _windows_starting(
        self, schedule: ScheduleConfig, day: date
    ) -> Iterator[tuple[float, float]]:
        """The window (epoch seconds) starting on ``day``, if the schedule has one."""
        if self.weekday(day) not in schedule.days:
            return
        start = self._epoch(day, schedule.from_)
        end_day = day + timedelta(days=1) if schedule.to <= schedule.from_ else day
        yield start, self._epoch(end_day, schedule.to)

    def _epoch(self, day: date, clock: time) -> float:
        # fold=0 picks the first of repeated local times; nonexistent times move forward.
        return datetime.combine(day, clock, tzinfo=self.tz).timestamp()

    def _local_date(self, t: float) -> date:
        return datetime.fromtimestamp(t, self.tz).date()

    def window_at(self, name: str, t: float) -> tuple[float, float] | None:
        """The window of schedule ``name`` containing instant ``t``, or None."""
        schedule = self.schedules[name]
        today = self._local_date(t)
        for offset in (0, -1):
            for start, end in self._windows_starting(schedule, today + timedelta(days=offset)):
                if start <= t < end:
                    return start, end
        return None

    def last_window_end(self, name: str, t: float) -> float | None:
        """When the most recent window of ``name`` that ended at or before ``t`` ended."""
        schedule = self.schedules[name]
        today = self._local_date(t)
        for offset in range(0, -_MAX_LOOKBACK_DAYS, -1):
            ends = [
                end
                for _start, end in self._windows_starting(schedule, today + timedelta(days=offset))
                if end <= t
            ]
            if ends:
                return max(ends)
        return None

    def active_since(self, active: ActiveConfig | None, t: float) -> float | None:
        """When the current active period of a rule began (-inf if always), None if inactive."""
        if active is None:
            return float("-inf")
        if active.during is not None:
            window = self.window_at(active.during, t)
            return window[0] if window else None
        if self.window_at(active.schedule, t) is not None:
            return None
        last_end = self.last_window_end(active.schedule, t)
        return last_end if last_end is not None else float("-inf")
