"""Which hours of which derived series changed since they were computed.

The writer tells this book, after each batch InfluxDB accepted and before the spool's
cursor moves past it, which hours (UTC) the batch touched in each raw measurement that
has derived series, and from which five-minute span on: a live hour changes only at its
end, so its 5-minute rollups are recomputed from there, not from the hour's start (an
hour read back from the file, or booked whole, is recomputed whole). Each raw
measurement books under the keys of what is derived from it: ``door`` under ``door``
(its rollups), ``electricity`` under ``electricity`` and ``electricity_usage_1h`` (the
hourly meter buckets the reports read). A consumer recomputes the runs of hours of its
key, however old, then marks exactly those done:

- the rollup job ``take``s every key, and marks each run done when it was recomputed;
  a run that failed stays, and is taken again in the next round (or after a restart);
- a report recomputes the meter hours of its window first (``runs_within``) and marks
  them done too, so neither the job nor the next report repeats them.

Every hour carries the generation of its last booking: ``done`` drops only hours not
booked again since the runs were read, so a batch stored during a recompute is never
lost. An hour whose derived buckets were made while it was still open, from what was
cheap rather than from every raw point (the rollups' hour, see ``rollups.py``), is kept
aside (``when_over``) and booked whole by ``take`` once it is over.

The book is a small JSON file in ``state_dir``, written whenever it changes and before the
writer moves on; a batch whose hours could not be saved (a full disk) is not committed and
is written, and booked, again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from campuswatch.atomicfile import write_atomic

log = logging.getLogger(__name__)

HOUR_S = 3600
_FIRST_HOUR = 0
LAST_HOUR = 4_102_444_800 // HOUR_S  # 2100-01-01: a later or negative hour is damage
SPAN_S = 300  # what the writer books: five-minute spans (the finest rollup's buckets)
SPAN_MS = SPAN_S * 1000
STARTS_KEPT = 64  # bookings of an hour remembered apart (see _note_start)
Run = tuple[int, int]  # [start_s, end_s): UTC hours, the first from where it changed


@dataclass(frozen=True, slots=True)
class Taken:
    """Runs of changed hours per key, read at ``generation``."""

    runs: dict[str, list[Run]]
    generation: int


class DirtyHours:
    """The durable book of changed hours, per derived key (thread-safe)."""

    def __init__(
        self, path: Path | None, keys: Mapping[str, Sequence[str]], *, writable: bool = True
    ) -> None:
        """``keys``: raw measurement -> the keys it books under; a book that is not
        ``writable`` (another process's, read by ``campus-ingest report``) is never saved."""
        self.path = path
        self.writable = writable
        self._keys = {m.encode(): tuple(k) for m, k in keys.items()}
        self._keys_of = {m: tuple(k) for m, k in keys.items()}
        self._lock = threading.Lock()
        self._hours: dict[str, dict[int, int]] = {}  # key -> hour -> generation
        self._since: dict[tuple[str, int], float] = {}  # when its waiting work was booked
        # Where in an hour it changed, per booking: (generation, first second). An hour
        # without (a book read back, a whole hour booked) is recomputed whole.
        self._starts: dict[tuple[str, int], list[tuple[int, int]]] = {}
        self._later: dict[str, set[int]] = {}  # key -> open hours to book whole when over
        self._generation = 0
        self._unsaved = False
        self.existed = self._load()

    def track(self, records: Sequence[bytes]) -> None:
        """Book what ``records`` changed (line protocol, ms timestamps).

        On the writer's path, so kept to two searches and one ``int`` per line.
        """
        touched: dict[bytes, set[int]] = {}
        keys = self._keys
        for record in records:
            for line in record.split(b"\n"):
                name = line[: line.find(b",")]
                if name in keys:
                    stamp = line[line.rfind(b" ") + 1 :]
                    if not stamp.isdigit():  # not a point this service encoded: the
                        raise ValueError(f"no timestamp at the end of {line[:200]!r}")
                    span = int(stamp) // SPAN_MS  # writer dead-letters it
                    spans = touched.get(name)
                    if spans is None:
                        spans = touched[name] = set()
                    spans.add(span)
        self.book((name.decode(), span) for name, spans in touched.items() for span in spans)

    def book(self, spans: Iterable[tuple[str, int]]) -> None:
        """Book ``(measurement, five-minute span)`` pairs: each touched hour, from its
        first changed span on (the handler notes them as it encodes the lines)."""
        starts: dict[str, dict[int, int]] = {}
        for measurement, span in spans:
            start_s = span * SPAN_S
            for key in self._keys_of.get(measurement, ()):
                hours = starts.setdefault(key, {})
                hour = start_s // HOUR_S
                hours[hour] = min(hours.get(hour, start_s), start_s)
        if starts:
            self._book(starts)

    def add(self, hours: Mapping[str, Iterable[int]]) -> None:
        """Book whole hours (numbers since the epoch, UTC) of keys as changed; saved before
        it returns (raises OSError when it cannot be, and saves again on the next call)."""
        self._book({key: {hour: hour * HOUR_S for hour in new} for key, new in hours.items()})

    def _book(self, starts: Mapping[str, Mapping[int, int]]) -> None:
        """Book each key's hours, each changed from its given second on."""
        with self._lock:
            if self._book_locked(starts) or self._unsaved:  # the file lists hours only
                self._save()

    def _book_locked(self, starts: Mapping[str, Mapping[int, int]]) -> bool:
        """``_book`` with the lock held, unsaved; whether an hour was not booked before."""
        self._generation += 1
        grew = False
        now = time.monotonic()
        for key, new in starts.items():
            book = self._hours.setdefault(key, {})
            before = len(book)
            for hour, start_s in new.items():
                book[hour] = self._generation
                self._since.setdefault((key, hour), now)
                self._note_start(key, hour, start_s)
            grew = grew or len(book) > before
        return grew

    def _note_start(self, key: str, hour: int, start_s: int) -> None:
        """Where this booking changed the hour (the lock held); many bookings of one hour
        between two recomputes are merged into one as early and as new as all of them."""
        booked = self._starts.setdefault((key, hour), [])
        booked.append((self._generation, start_s))
        if len(booked) > STARTS_KEPT:
            self._starts[(key, hour)] = [(self._generation, min(s for _g, s in booked))]

    def when_over(self, key: str, hours: Iterable[int]) -> None:
        """Book these hours of ``key`` again once each is over (``take``): their buckets
        were made while they were open. A save that fails is logged and retried with the
        next change (the hours are still in the saved book until ``done`` saves)."""
        with self._lock:
            later = self._later.setdefault(key, set())
            before = len(later)
            later.update(hours)
            if len(later) > before or self._unsaved:
                self._save_or_warn()

    def take(self, now_s: float | None = None) -> Taken:
        """Everything booked and not yet done, as runs per key; a run starts where its
        first hour changed (a live hour: its last minutes), later hours are whole. Hours
        kept ``when_over`` that are over by ``now_s`` are booked first (none without it:
        a report's or a test's look at the book)."""
        with self._lock:
            if now_s is not None:
                self._book_over(now_s)
            taken = {}
            for key, hours in self._hours.items():
                if hours:
                    taken[key] = [(self._start(key, start), end) for start, end in runs(hours)]
            return Taken(taken, self._generation)

    def _book_over(self, now_s: float) -> None:
        """Book the hours kept aside that are over by ``now_s`` (the lock held, so that no
        save in between lists them in neither set), from their last span: their 5-minute
        buckets were made from the raw points as they changed, and the hour's own bucket is
        made from all of its raw points anyway (``rollups.py``)."""
        over: dict[str, dict[int, int]] = {}
        for key, later in self._later.items():
            ended = {hour for hour in later if (hour + 1) * HOUR_S <= now_s}
            if ended:
                later.difference_update(ended)
                over[key] = {hour: (hour + 1) * HOUR_S - SPAN_S for hour in ended}
        if over:
            self._book_locked(over)
            self._save_or_warn()

    def _start(self, key: str, hour_start_s: int) -> int:
        """The first changed second of an hour (the lock held)."""
        booked = self._starts.get((key, hour_start_s // HOUR_S))
        return min(start for _generation, start in booked) if booked else hour_start_s

    def runs_within(self, key: str, start_s: int, end_s: int) -> Taken:
        """The booked hours of ``key`` that overlap ``[start, end)``, as runs."""
        first, last = start_s // HOUR_S, (end_s - 1) // HOUR_S
        with self._lock:
            hours = [h for h in self._hours.get(key, {}) if first <= h <= last]
            return Taken({key: runs(hours)} if hours else {}, self._generation)

    def done(self, key: str, run: Run, generation: int) -> None:
        """``run`` of ``key`` was recomputed from data read after ``generation``."""
        with self._lock:
            book = self._hours.get(key, {})
            now = time.monotonic()
            finished = []
            for hour in range(run[0] // HOUR_S, run[1] // HOUR_S):
                if hour not in book:
                    continue
                if book[hour] <= generation:
                    finished.append(hour)
                    del book[hour]
                    self._since.pop((key, hour), None)
                    self._starts.pop((key, hour), None)
                else:  # booked again during the recompute: that work is new
                    self._since[(key, hour)] = now
                    booked = self._starts.get((key, hour), [])
                    self._starts[(key, hour)] = [b for b in booked if b[0] > generation]
            if finished:
                self._save_or_warn()

    def waiting_age_s(self) -> float:
        """How long the oldest booked hour has waited for its recompute (0: none). Read
        without the lock, which a save (an fsync on a dying disk) may hold for long: the
        watchdog must not hang on what it watches."""
        try:
            oldest = min(self._since.values(), default=None)
        except RuntimeError:  # changed while read: the next check reads it
            return 0.0
        return time.monotonic() - oldest if oldest is not None else 0.0

    def waiting(self) -> int:
        """How many key-hours wait for a recompute."""
        with self._lock:
            return sum(len(h) for h in self._hours.values())

    def _save(self) -> None:
        self._unsaved = True
        if self.path is None or not self.writable:
            return
        data = {k: sorted(h) for k, h in self._hours.items() if h}
        later = {k: sorted(h) for k, h in self._later.items() if h}
        write_atomic(self.path, orjson.dumps({"hours": data, "later": later}))
        self._unsaved = False

    def _save_or_warn(self) -> None:
        """Save (the lock held) where a failure is logged, not raised: the book in memory
        is right, and the next change saves it again."""
        try:
            self._save()
        except OSError as exc:
            log.warning("cannot save %s (%s), trying again with the next change", self.path, exc)

    def _load(self) -> bool:
        """Read the book; whether there was one (an upgrade starts without)."""
        if self.path is None:
            return False
        try:
            if not self.path.exists():
                return False
            self._read(orjson.loads(self.path.read_bytes()))
        except (
            OSError,
            orjson.JSONDecodeError,
            KeyError,
            AttributeError,
            TypeError,
            ValueError,
        ) as exc:
            # Unreadable: start empty rather than refuse to start; the start-up backfill
            # still fills empty rollups, and the last days are booked again (see rollups).
            log.error(
                "cannot read %s (%s): the hours it listed are booked again from the last days only",
                self.path,
                exc,
            )
            self._hours, self._since, self._starts, self._later = {}, {}, {}, {}
            return False
        return True

    def _read(self, data: dict[str, Any]) -> None:
        """Take in a saved book's hours, booked and kept aside."""
        for key, listed in self._later_books(data):
            self._later.setdefault(key, set()).update(self._valid("later", key, listed))
        for key, listed in self._books(data):
            valid = self._valid("hours", key, listed)
            self._hours.setdefault(key, {}).update(dict.fromkeys(valid, 0))
            for hour in valid:  # where they changed is not kept: recomputed whole
                self._starts[(key, hour)] = [(0, hour * HOUR_S)]
            self._since.update(dict.fromkeys(((key, h) for h in valid), time.monotonic()))

    def _valid(self, part: str, key: str, listed: object) -> list[int]:
        """The hours of a saved list that are hours; the rest (damage) logged and left out,
        so that no query asks for the year 10^9."""
        hours = listed if isinstance(listed, list) else [None]  # not a list: damage
        valid = [h for h in hours if type(h) is int and _FIRST_HOUR <= h < LAST_HOUR]
        if len(valid) != len(hours):
            log.error(
                "%s: %d hour(s) of %s %r are not hours of 1970-2099, left out",
                self.path,
                len(hours) - len(valid),
                part,
                key,
            )
        return valid

    def _later_books(self, data: dict[str, Any]) -> Iterable[tuple[str, object]]:
        """(key, hours) kept aside in a saved book; damage there costs only those."""
        later = data.get("later") or {}
        if not isinstance(later, dict):
            log.error("%s: later is not an object, left out", self.path)
            return
        yield from ((str(k), h) for k, h in later.items())

    def _books(self, data: dict[str, Any]) -> Iterable[tuple[str, object]]:
        """(key, hours) of a saved book; the first version kept raw measurements under
        ``pending`` and ``taking``: each books under its keys."""
        if "hours" in data:
            yield from ((str(k), h) for k, h in data["hours"].items())
            return
        for part in (data["pending"], data["taking"]):
            for name, hours in part.items():
                for key in self._keys.get(str(name).encode(), (str(name),)):
                    yield key, hours


def runs(hours: Iterable[int]) -> list[Run]:
    """Consecutive hour numbers as ``[start_s, end_s)`` runs, in time order."""
    out: list[Run] = []
    for hour in sorted(hours):
        start = hour * HOUR_S
        if out and out[-1][1] == start:
            out[-1] = (out[-1][0], start + HOUR_S)
        else:
            out.append((start, start + HOUR_S))
    return out
