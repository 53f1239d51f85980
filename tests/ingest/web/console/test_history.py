"""Where the alert log starts: last night's 18:00 before noon (the morning handover reads
the whole night), else today's midnight."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from ingest.web.console.routes.history import window_start

TZ = ZoneInfo("Asia/Shanghai")


def test_the_morning_log_starts_at_18_00_the_day_before() -> None:
    start, which = window_start(datetime(2026, 11, 24, 7, 30, tzinfo=TZ))
    assert (start, which) == (datetime(2026, 11, 23, 18, 0, tzinfo=TZ), "night")


def test_from_noon_the_log_is_today_s() -> None:
    start, which = window_start(datetime(2026, 11, 24, 21, 0, tzinfo=TZ))
    assert (start, which) == (datetime(2026, 11, 24, 0, 0, tzinfo=TZ), "today")
