"""The one background-worker helper every polling loop of both programs runs on."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from campuswatch.backoff import Backoff

log = logging.getLogger(__name__)

Step = Callable[[], float]
"""One round of work; returns the seconds to wait before the next round (0: at once)."""


class Worker:
    """Runs ``step`` in a thread of its own until stopped.

    An exception escaping ``step`` is logged with the worker's name (this is the loop
    boundary, the one place a broad ``except`` belongs) and the step is tried again after
    a capped, jittered backoff that the next successful round resets, so neither a bug nor
    an outage ends the loop or spins it. ``wake()`` cuts the current wait short;
    ``stop()`` ends the loop after the round in hand.
    """

    def __init__(
        self,
        name: str,
        step: Step,
        *,
        error_backoff: Backoff | None = None,
        daemon: bool = True,
    ) -> None:
        self.name = name
        self._step = step
        self._backoff = error_backoff or Backoff(base=1.0, cap=30.0)
        self._stopping = threading.Event()
        self._wakeup = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=daemon)
        self._last_round_s = time.monotonic()

    def start(self) -> None:
        """Start the thread."""
        self._thread.start()

    def stop(self, timeout: float | None = 30.0) -> None:
        """Ask the loop to end and wait (up to ``timeout`` seconds) for it."""
        self.request_stop()
        self.join(timeout)

    def request_stop(self) -> None:
        """Ask the loop to end after the round in hand, without waiting for it."""
        self._stopping.set()
        self._wakeup.set()

    def join(self, timeout: float | None = 30.0) -> None:
        """Wait (up to ``timeout`` seconds) for the loop to end."""
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def wake(self) -> None:
        """Run the next round now instead of after the current wait."""
        self._wakeup.set()

    def wait(self, seconds: float) -> bool:
        """Pause inside a step for up to ``seconds``; True when the worker is stopping."""
        return self._stopping.wait(max(0.0, seconds))

    @property
    def stopping(self) -> bool:
        """True once ``stop()`` was called."""
        return self._stopping.is_set()

    def since_last_round(self) -> float:
        """Seconds since a round last ended without an error (or since this was made):
        the age a stuck or failing loop reports to the watchdog."""
        return time.monotonic() - self._last_round_s

    @property
    def alive(self) -> bool:
        """True while the thread runs."""
        return self._thread.is_alive()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wakeup.clear()
            try:
                delay = self._step()
            except Exception:
                delay = self._backoff.next_delay()
                log.exception("%s failed; trying again in %.1f s", self.name, delay)
            else:
                self._backoff.reset()
                self._last_round_s = time.monotonic()
            if delay > 0 and not self._stopping.is_set():
                self._wakeup.wait(delay)
