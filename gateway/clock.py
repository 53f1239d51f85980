"""Injectable clocks: behaviour that depends on time takes a Clock, so tests control it."""

from __future__ import annotations

import threading
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


class ManualClock:
    """A clock that moves only when a test moves it."""

    def __init__(self, start: float) -> None:
        self._now = start
        self._lock = threading.Lock()

    def time(self) -> float:
        """The time set by the test."""
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        with self._lock:
            self._now += seconds


def now_ms(clock: Clock) -> int:
    """Current time of ``clock`` in epoch milliseconds."""
    return int(clock.time() * 1000)
