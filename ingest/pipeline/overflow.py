"""Readings the spool cannot take yet (a full disk, a full spool), held in memory so the
alarm path never stops.

Why: the consumer acknowledges a message only after its readings are durable, and the
broker sends nothing more to a client that has ``max_inflight_messages`` unacknowledged.
So a spool that cannot write once stopped every message after the first thousand, smoke
alarms included, for as long as the disk stayed full. Now records the spool refuses are
kept here, in order, and acknowledged; they go to the spool, oldest first, as soon as it
takes them again. Memory is bounded by ``spool.memory_mb``: beyond it readings are still
evaluated by the rules but lost, counted (``campus_readings_lost``) and named in health.
Life safety first: a lost reading is a bug, a silenced campus the worst failure. Readings
held here are also lost if the process dies before the spool takes them; health says
how many are held.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Iterable

from ingest.errors import SpoolError
from ingest.health import Problems
from ingest.metrics import Metrics
from ingest.pipeline.spool import Spool

log = logging.getLogger(__name__)


class SpoolIntake:
    """The spool's front: append, or hold in memory while the spool cannot; one thread
    (the consumer's commit thread) uses it."""

    def __init__(
        self, spool: Spool, metrics: Metrics, problems: Problems, memory_bytes: int
    ) -> None:
        self.spool = spool
        self.metrics = metrics
        self.problems = problems
        self.memory_bytes = memory_bytes
        self._held: deque[bytes] = deque()
        self._held_spans: set[tuple[str, int]] = set()  # those the held records touch
        self._held_bytes = 0
        self._lost = 0  # readings lost since the spool last took everything
        self._held_since_s: float | None = None

    @property
    def held(self) -> int:
        """Records waiting in memory."""
        return len(self._held)

    def held_age_s(self) -> float:
        """How long readings have been held in memory (0: none are)."""
        since = self._held_since_s
        return time.monotonic() - since if since is not None and self._held else 0.0

    def store(self, records: list[bytes], spans: Iterable[tuple[str, int]] = ()) -> None:
        """Make ``records`` durable after everything held, or hold them; never raises for
        a spool that cannot write. ``spans``: the ``(measurement, span)`` pairs they touch."""
        if not records and not self._held:
            return
        self._held.extend(records)
        self._held_spans.update(spans)
        self._held_bytes += sum(len(r) for r in records)
        try:
            self._append()
        except (SpoolError, OSError) as exc:
            if self._held_since_s is None:
                self._held_since_s = time.monotonic()
            self._keep_within_memory()
            self._report(exc)
            return
        self._held.clear()
        self._held_spans.clear()
        self._held_bytes = 0
        self._held_since_s = None
        if self._lost:
            log.warning("the spool takes readings again (%d were lost meanwhile)", self._lost)
        self._lost = 0
        self.metrics.readings_held.set(0)
        self.problems.clear("readings")

    def _append(self) -> None:
        if self.spool.is_full():
            raise SpoolError(
                f"the spool holds {self.spool.pending_bytes() >> 20} MB, its limit"
                " (spool.max_mb): InfluxDB is not taking readings"
            )
        self.spool.append(list(self._held), self._held_spans)

    def _keep_within_memory(self) -> None:
        while self._held_bytes > self.memory_bytes and self._held:
            record = self._held.pop()  # the newest: the held ones stay in order
            self._held_bytes -= len(record)
            lost = record.count(b"\n") + 1
            self._lost += lost
            self.metrics.readings_lost.inc(lost)
        self.metrics.readings_held.set(self._held_bytes)

    def _report(self, exc: Exception) -> None:
        # Words that change only with the facts (each change is logged); the numbers are
        # campus_readings_held_bytes and campus_readings_lost in /metrics.
        held = (
            "memory is full too (spool.memory_mb): readings are being LOST"
            if self._lost
            else "readings are held in memory until it does"
        )
        self.problems.report("readings", f"not stored: {exc}; {held}; alarms go on")
