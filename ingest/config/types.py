"""Value types of the server config: durations, interval multipliers, times and date ranges."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict

from campuswatch.durations import parse_duration

_MULTIPLIER_RE = re.compile(r"^(\d+(?:\.\d+)?)x$")


class IntervalMultiple(BaseModel):
    """``silent_for: 3x``: a multiple of each device's ``interval_s``."""

    model_config = ConfigDict(frozen=True)
    factor: float


def parse_silent_for(value: Any) -> timedelta | IntervalMultiple:
    """Parse ``3x`` (times the device interval) or a duration."""
    if isinstance(value, str):
        match = _MULTIPLIER_RE.fullmatch(value.strip())
        if match:
            factor = float(match.group(1))
            if factor <= 0:
                raise ValueError("the multiplier must be above zero")
            return IntervalMultiple(factor=factor)
    try:
        return parse_duration(value)
    except ValueError:
        raise ValueError(
            f"{value!r} is neither a multiple of the device interval (like 3x) nor a duration"
        ) from None


SilentFor = Annotated[timedelta | IntervalMultiple, BeforeValidator(parse_silent_for)]


def parse_date_range(value: Any) -> tuple[date, date]:
    """Parse ``2026-10-01`` or ``2026-10-01..2026-10-08`` (both ends included)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return (value, value)
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a date (YYYY-MM-DD) or range (YYYY-MM-DD..YYYY-MM-DD)")
    first, sep, last = value.strip().partition("..")
    try:
        start = date.fromisoformat(first.strip())
        end = date.fromisoformat(last.strip()) if sep else start
    except ValueError:
        raise ValueError(
            f"{value!r} is not a date (YYYY-MM-DD) or range (YYYY-MM-DD..YYYY-MM-DD)"
        ) from None
    if end < start:
        raise ValueError(f"range {value!r} ends before it starts")
    return (start, end)


DateRange = Annotated[tuple[date, date], BeforeValidator(parse_date_range)]


def check_timezone(value: str) -> str:
    """Accept an IANA timezone name known to this system."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown timezone {value!r} (use an IANA name like Asia/Shanghai)"
        ) from None
    return value
