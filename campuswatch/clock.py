"""Injectable clocks: behaviour that depends on time takes a Clock, so tests control it."""

from __future__ import annotations

import time
from datetime import UTC, datetime, tzinfo
from typing import Protocol


class Clock(Protocol):
    """Wall-clock time in epoch seconds."""

    def time(self) -> float:
        """Current time, seconds since the epoch (UTC)."""
        ...


class SystemClock:
    """The real clock."""

    def time(self) -> float:
        """Current time from the operating system."""
        return time.time()


def now_ms(clock: Clock) -> int:
    """Current time of ``clock`` in epoch milliseconds."""
    return int(clock.time() * 1000)


def local_time(ms: int, tz: tzinfo) -> datetime:
    """Epoch milliseconds as an aware datetime in ``tz`` (the one conversion; a reading's
    or an alert's time is always epoch ms)."""
    return datetime.fromtimestamp(ms / 1000, UTC).astimezone(tz)
