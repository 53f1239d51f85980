"""How far the first computation of each derived series got, so a stopped one goes on.

A derived series that is empty (a new install, an upgrade that adds one) is computed
from the oldest raw reading on, a day per query (``rollups.py``). Without a record of
how far it got, a stop half-way left the series not empty, and the next start took that
for complete: the days after the stop stayed missing from dashboards and reports for
good. The mark of a series is saved before its first day and after each one, in
``state_dir/backfill.json``, and dropped when the series reaches the present.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import orjson

from campuswatch.atomicfile import write_atomic
from ingest.storage.dirty import HOUR_S, LAST_HOUR

log = logging.getLogger(__name__)

DAY_S = 86_400
_UNMARKED = (
    "a series whose first computation was stopped is taken for complete "
    "(DROP MEASUREMENT it, e.g. door_5m, and it is computed again at the next start)"
)


class BackfillMarks:
    """Per derived series: the first day (UTC epoch seconds) not computed yet."""

    def __init__(self, path: Path | None) -> None:
        """``path``: the marks' file; None keeps them in memory only (tests, benches)."""
        self.path = path
        self._lock = threading.Lock()
        self._next: dict[str, int] = self._load()

    def resume_from(self, series: str) -> int | None:
        """Where an unfinished computation of ``series`` goes on; None: none is."""
        with self._lock:
            return self._next.get(series)

    def begin(self, series: str, day_s: int) -> None:
        """The computation of ``series`` begins at ``day_s``. Raises OSError when that
        cannot be saved: nothing may be written before it is, or a stop would leave the
        series not empty and unmarked, taken for complete."""
        with self._lock:
            self._next[series] = day_s
            if self.path is not None:
                write_atomic(self.path, orjson.dumps(self._next))

    def reached(self, series: str, day_s: int) -> None:
        """Everything of ``series`` before ``day_s`` is computed."""
        with self._lock:
            self._next[series] = day_s
            self._save()

    def finished(self, series: str) -> None:
        """``series`` reached the present: the writer's bookings keep it current."""
        with self._lock:
            if self._next.pop(series, None) is not None:
                self._save()

    def _save(self) -> None:
        """Saved (the lock held); a failure is logged, not raised: the file keeps an
        earlier mark, so a stop now only computes some days again."""
        if self.path is None:
            return
        try:
            write_atomic(self.path, orjson.dumps(self._next))
        except OSError as exc:
            log.warning("cannot save %s (%s): a stop now redoes some days", self.path, exc)

    def _load(self) -> dict[str, int]:
        if self.path is None or not self.path.exists():
            return {}
        try:
            data = orjson.loads(self.path.read_bytes())
        except (OSError, orjson.JSONDecodeError) as exc:
            log.error("cannot read %s (%s): %s", self.path, exc, _UNMARKED)
            return {}
        marks = data if isinstance(data, dict) else {}
        valid = {str(k): v for k, v in marks.items() if _is_day(v)}
        if len(valid) != len(marks) or not isinstance(data, dict):
            log.error("%s: marks that are no days of 1970-2099 left out; %s", self.path, _UNMARKED)
        return valid


def _is_day(value: object) -> bool:
    """The first second of a UTC day of 1970-2099 (a mark within a day is damage: that
    day's first hours would be made again from part of their points)."""
    return type(value) is int and 0 <= value < LAST_HOUR * HOUR_S and value % DAY_S == 0
