"""Which hours of which measurements changed since their derived series were computed.

The writer tells this book, after each batch InfluxDB accepted and before the spool's
cursor moves past it, which hours (UTC) the batch touched in each measurement that has
derived series (rollups, hourly meter buckets). The rollup job takes the hours, recomputes
exactly those buckets, however old, and then marks them done. The book is a small JSON file
in ``state_dir``, written whenever it gains an hour, so a crash loses nothing:

- hours written but not yet taken are ``pending``;
- hours taken by a recompute that has not finished are ``taking``; at the next start
  (or after a failed round) they are taken again.

A crash after the write but before the book was saved leaves the spool's cursor before
the batch, so the batch is written, and its hours recorded, again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

import orjson

from campuswatch.atomicfile import write_atomic

log = logging.getLogger(__name__)

HOUR_S = 3600
_HOUR_MS = HOUR_S * 1000


class DirtyHours:
    """The durable book of changed hours, per measurement (thread-safe)."""

    def __init__(self, path: Path | None, measurements: Iterable[str]) -> None:
        self.path = path
        self._tracked = {m.encode(): m for m in measurements}
        self._lock = threading.Lock()
        self._pending: dict[str, set[int]] = {}
        self._taking: dict[str, set[int]] = {}
        self._load()

    def track(self, records: Sequence[bytes]) -> None:
        """Record the hours touched by ``records`` (line protocol, ms timestamps).

        On the writer's path, so kept to two searches and one ``int`` per line.
        """
        touched: dict[str, set[int]] = {}
        tracked = self._tracked
        for record in records:
            for line in record.split(b"\n"):
                name = tracked.get(line[: line.find(b",")])
                if name is not None:
                    hour = int(line[line.rfind(b" ") + 1 :]) // _HOUR_MS
                    hours = touched.get(name)
                    if hours is None:
                        hours = touched[name] = set()
                    hours.add(hour)
        if touched:
            self.add(touched)

    def add(self, hours: dict[str, set[int]]) -> None:
        """Mark hours (hour numbers since the epoch, UTC) of measurements changed."""
        with self._lock:
            grew = False
            for name, new in hours.items():
                mine = self._pending.setdefault(name, set())
                before = len(mine)
                mine |= new
                grew = grew or len(mine) > before
            if grew:
                self._save()

    def take(self) -> dict[str, list[tuple[int, int]]]:
        """Everything changed and not yet done, as ``[start_s, end_s)`` runs per measurement.

        What an earlier, unfinished take returned is included again.
        """
        with self._lock:
            for name, hours in self._pending.items():
                self._taking.setdefault(name, set()).update(hours)
            if self._pending:
                self._pending = {}
                self._save()
            return {name: runs(hours) for name, hours in self._taking.items() if hours}

    def done(self) -> None:
        """The last take has been recomputed."""
        with self._lock:
            if self._taking:
                self._taking = {}
                self._save()

    def runs_within(self, measurement: str, start_s: int, end_s: int) -> list[tuple[int, int]]:
        """The hours of ``[start, end)`` of ``measurement`` that wait for a recompute, as
        ``[start_s, end_s)`` runs."""
        first, last = start_s // HOUR_S, (end_s - 1) // HOUR_S
        with self._lock:
            hours = self._pending.get(measurement, set()) | self._taking.get(measurement, set())
        return runs(h for h in hours if first <= h <= last)

    def waiting(self) -> int:
        """How many measurement-hours wait for a recompute."""
        with self._lock:
            names = set(self._pending) | set(self._taking)
            return sum(len(self._pending.get(n, set()) | self._taking.get(n, set())) for n in names)

    def _save(self) -> None:
        if self.path is None:
            return
        data = {
            "pending": {n: sorted(h) for n, h in self._pending.items() if h},
            "taking": {n: sorted(h) for n, h in self._taking.items() if h},
        }
        write_atomic(self.path, orjson.dumps(data))

    def _load(self) -> None:
        if self.path is None:
            return
        try:
            if not self.path.exists():
                return
            data = orjson.loads(self.path.read_bytes())
            for key in ("pending", "taking"):  # an unfinished take is redone
                for name, hours in data.get(key, {}).items():
                    self._pending.setdefault(name, set()).update(int(h) for h in hours)
        except (OSError, orjson.JSONDecodeError, AttributeError, TypeError, ValueError) as exc:
            # Unreadable: recompute nothing rather than refuse to start; the start-up
            # backfill still fills empty rollups.
            log.error("cannot read %s (%s): the hours it listed are not recomputed",
                      self.path, exc)  # fmt: skip


def runs(hours: Iterable[int]) -> list[tuple[int, int]]:
    """Consecutive hour numbers as ``[start_s, end_s)`` runs, in time order."""
    out: list[tuple[int, int]] = []
    for hour in sorted(hours):
        start = hour * HOUR_S
        if out and out[-1][1] == start:
            out[-1] = (out[-1][0], start + HOUR_S)
        else:
            out.append((start, start + HOUR_S))
    return out
