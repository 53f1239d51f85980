"""Durations as configs write them: ``30s``, ``5m``, ``2h``, ``1d`` or ``1h30m``
(and ``300ms`` for serial timeouts)."""

from __future__ import annotations

import re
from datetime import time, timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

_DURATION_RE = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?$")


def parse_duration(value: Any) -> timedelta:
    """Parse ``30s``, ``5m``, ``2h``, ``1d`` or combinations such as ``1h30m``."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError("a duration is written like 30s, 5m, 2h, 1d or 1h30m")
    if isinstance(value, int):
        raise ValueError(f"a duration needs a unit: write {value}s, {value}m or {value}h")
    match = _DURATION_RE.fullmatch(value.strip())
    if not value.strip() or match is None:
        raise ValueError(f"{value!r} is not a duration like 30s, 5m, 2h, 1d or 1h30m")
    days, hours, minutes, seconds, millis = (int(g) if g else 0 for g in match.groups())
    result = timedelta(
        days=days, hours=hours, minutes=minutes, seconds=seconds, milliseconds=millis
    )
    if result <= timedelta(0):
        raise ValueError("a duration must be longer than zero")
    return result


def format_duration(value: timedelta) -> str:
    """Write a duration back in the config's notation."""
    total = round(value.total_seconds() * 1000)
    parts = []
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)):
        if total >= size:
            parts.append(f"{total // size}{unit}")
            total %= size
    return "".join(parts) or "0s"


Duration = Annotated[
    timedelta, BeforeValidator(parse_duration), PlainSerializer(format_duration, return_type=str)
]


def parse_clock_time(value: Any) -> time:
    """Parse ``HH:MM`` (24-hour, ``24:00`` meaning the end of the day is not allowed)."""
    if isinstance(value, time):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML 1.1 reads an unquoted 07:00 as the sexagesimal number 420.
        return time(value // 60 % 24, value % 60)
    if not isinstance(value, str) or not re.fullmatch(r"\d{1,2}:\d{2}", value.strip()):
        raise ValueError(f"{value!r} is not a time of day like 07:00")
    hours, minutes = (int(p) for p in value.strip().split(":"))
    if hours > 23 or minutes > 59:
        raise ValueError(f"{value!r} is not a valid time of day")
    return time(hours, minutes)


ClockTime = Annotated[time, BeforeValidator(parse_clock_time)]
