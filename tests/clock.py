"""A clock that moves only when a test moves it (product code takes any ``Clock``)."""

from __future__ import annotations

import threading


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
