"""Injectable clocks: behaviour that depends on time takes a Clock, so tests control it."""

from __future__ import annotations

import time
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
