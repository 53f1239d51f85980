"""Schedules in the site timezone: midnight crossing, holidays and make-up days."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from ingest.config.rules import ActiveConfig
from ingest.config.schema import CalendarConfig, ScheduleConfig
from ingest.rules.schedules import ScheduleBook

TZ = ZoneInfo("Asia/Shanghai")


def at(text: str) -> float:
    """Epoch seconds of a local Shanghai time."""
    return datetime.fromisoformat(text).replace(tzinfo=TZ).timestamp()


def book(closed: list[str] | None = None, open_: list[str] | None = None) -> ScheduleBook:
    schedules = {
        "school_hours": ScheduleConfig.model_validate(
            {"days": ["mon", "tue", "wed", "thu", "fri"], "from": "07:00", "to": "18:00"}
        ),
        "night": ScheduleConfig.model_validate(
            {"days": ["mon", "tue", "wed", "thu", "fri"], "from": "22:00", "to": "06:00"}
        ),
    }
    calendar = CalendarConfig.model_validate({"closed": closed or [], "open": open_ or []})
    return ScheduleBook(schedules, calendar, "Asia/Shanghai")


def test_during_a_window_active_since_its_start() -> None:
    # 2026-11-23 is a Monday.
    assert book().active_since(ActiveConfig(during="school_hours"), at("2026-11-23 09:30")) == at(
        "2026-11-23 07:00"
    )
    assert book().active_since(ActiveConfig(during="school_hours"), at("2026-11-23 18:00")) is None


def test_outside_a_window_active_since_it_ended() -> None:
    outside = ActiveConfig(outside="school_hours")
    assert book().active_since(outside, at("2026-11-23 12:00")) is None
    assert book().active_since(outside, at("2026-11-23 18:00")) == at("2026-11-23 18:00")
    assert book().active_since(outside, at("2026-11-24 06:59")) == at("2026-11-23 18:00")
    # Over the weekend "outside" lasts from Friday 18:00 to Monday 07:00.
    assert book().active_since(outside, at("2026-11-29 23:00")) == at("2026-11-27 18:00")


def test_window_crossing_midnight_belongs_to_the_day_it_starts() -> None:
    night = ActiveConfig(during="night")
    assert book().active_since(night, at("2026-11-24 02:00")) == at("2026-11-23 22:00")
    # Friday night runs into Saturday morning; Saturday night has no window.
    assert book().active_since(night, at("2026-11-28 05:59")) == at("2026-11-27 22:00")
    assert book().active_since(night, at("2026-11-28 23:00")) is None


def test_holiday_has_no_school_hours_and_make_up_saturday_has() -> None:
    holidays = book(closed=["2026-10-01..2026-10-08"], open_=["2026-10-10"])
    during = ActiveConfig(during="school_hours")
    # Thursday 1 October (National Day) is closed ...
    assert holidays.active_since(during, at("2026-10-01 10:00")) is None
    # ... so after hours last from Wednesday 30 September 18:00 until school reopens.
    assert holidays.active_since(
        ActiveConfig(outside="school_hours"), at("2026-10-05 10:00")
    ) == at("2026-09-30 18:00")
    # Saturday 10 October is a make-up working day (调休).
    assert holidays.active_since(during, at("2026-10-10 10:00")) == at("2026-10-10 07:00")
    assert holidays.weekday(date(2026, 10, 10)) == "mon"


def test_no_active_means_always() -> None:
    assert book().active_since(None, at("2026-11-23 12:00")) == float("-inf")
