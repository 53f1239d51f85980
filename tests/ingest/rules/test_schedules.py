"""Schedules in the site timezone: midnight crossing, holidays and make-up days."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from ingest.config.rules import ActiveConfig
from ingest.config.schema import CalendarConfig, ScheduleConfig
from ingest.rules.schedules import ScheduleBook

TZ = ZoneInfo("Asia/Shanghai")


def at(text: str) -> float:
    """Epoch seconds of a local Shanghai time."""
    return datetime.fromisoformat(text).replace(tzinfo=TZ).timestamp()


def book(
    closed: list[str] | None = None, open_: list[str] | None = None, official: str | None = None
) -> ScheduleBook:
    schedules = {
        "school_hours": ScheduleConfig.model_validate(
            {"days": ["mon", "tue", "wed", "thu", "fri"], "from": "07:00", "to": "18:00"}
        ),
        "night": ScheduleConfig.model_validate(
            {"days": ["mon", "tue", "wed", "thu", "fri"], "from": "22:00", "to": "06:00"}
        ),
    }
    calendar = CalendarConfig.model_validate(
        {"closed": closed or [], "open": open_ or [], "official": official}
    )
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


SCHOOL = ActiveConfig(during="school_hours")


def test_the_official_calendar_of_2025_and_2026() -> None:
    cn = book(official="cn")
    # 2025: National Day and Mid-autumn, 1-8 October off; Sunday 28 September and
    # Saturday 11 October are worked.
    assert [cn.weekday(date(2025, 10, d)) for d in range(1, 9)] == ["sun"] * 8
    assert cn.weekday(date(2025, 9, 28)) == "mon"
    assert cn.weekday(date(2025, 10, 11)) == "mon"
    assert cn.weekday(date(2025, 10, 12)) == "sun"  # an ordinary Sunday
    # 2026: National Day 1-7 October; Sunday 20 September and Saturday 10 October worked;
    # the Spring Festival 15-23 February.
    assert cn.weekday(date(2026, 10, 7)) == "sun"
    assert cn.weekday(date(2026, 10, 8)) == "thu"
    assert cn.weekday(date(2026, 10, 10)) == "mon"
    assert cn.weekday(date(2026, 9, 20)) == "mon"
    assert cn.weekday(date(2026, 2, 18)) == "sun"
    # School hours follow it: none on a holiday Wednesday, some on a make-up Saturday.
    assert cn.active_since(SCHOOL, at("2025-10-08 09:00")) is None
    assert cn.active_since(SCHOOL, at("2025-10-11 09:00")) == at("2025-10-11 07:00")
    assert book().active_since(SCHOOL, at("2025-10-08 09:00")) == at("2025-10-08 07:00")


def test_the_config_applies_on_top_of_the_official_calendar() -> None:
    cn = book(closed=["2026-07-06..2026-08-28"], open_=["2026-10-07"], official="cn")
    assert cn.weekday(date(2026, 7, 8)) == "sun"  # the summer vacation
    assert cn.weekday(date(2026, 10, 7)) == "mon"  # a kindergarten open that day
    assert cn.weekday(date(2026, 10, 6)) == "sun"


def test_a_year_outside_the_data_follows_the_weekdays() -> None:
    cn = book(official="cn")
    assert cn.official is not None
    assert 2031 not in cn.official.years
    assert cn.weekday(date(2031, 10, 1)) == "wed"
    assert cn.active_since(SCHOOL, at("2031-10-01 09:00")) == at("2031-10-01 07:00")


def test_campus_ingest_calendar_prints_the_year(tmp_path: Path) -> None:
    config = tmp_path / "ingest.yaml"
    config.write_text(
        "site: {id: sunshine-kg, name: 阳光幼儿园}\n"
        "calendar: {official: cn, closed: ['2026-07-06..2026-07-07']}\n"
    )
    shown = _cli("calendar", "--config", str(config), "2026")
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert "2026-10-01 Thu  closed (放假)" in shown.stdout
    assert any(line.startswith("2026-10-10 Sat  make-up working day") for line in lines)
    assert any(
        line.startswith("2026-07-06 Mon  closed") and "calendar.closed" in line for line in lines
    )
    assert "covers 2004-" in lines[1]
    later = _cli("calendar", "--config", str(config), "2031")
    assert later.returncode == 0
    assert "for 2031 and 2032 the weekdays apply" in later.stdout
    checked = _cli("check", "--config", str(config))
    assert checked.returncode == 0
    assert "the installed holiday data covers" in checked.stdout


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ingest.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
