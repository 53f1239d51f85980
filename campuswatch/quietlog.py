"""Logging that a flood of bad input cannot turn into a flood of log lines."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable


class QuietLog:
    """Logs the first of a kind of event at once, then at most one line per ``every_s``
    seconds saying how many more happened since (the counters in ``/metrics`` keep the
    exact numbers); thread-safe."""

    def __init__(
        self,
        logger: logging.Logger,
        level: int = logging.WARNING,
        every_s: float = 10.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.level = level
        self.every_s = every_s
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._next_s = 0.0
        self._skipped = 0

    def log(self, msg: str, *args: object) -> None:
        """Log ``msg % args`` now, or count it for the next line that is logged."""
        now = self._monotonic()
        with self._lock:
            if now < self._next_s:
                self._skipped += 1
                return
            skipped, self._skipped = self._skipped, 0
            self._next_s = now + self.every_s
        if skipped:
            msg += " (and %d more like it in the last %.0f s, not logged one by one)"
            args = (*args, skipped, self.every_s)
        self.logger.log(self.level, msg, *args)
