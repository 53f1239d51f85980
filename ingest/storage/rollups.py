"""Downsampled series for dashboards: ``<kind>_5m`` and ``<kind>_1h``, made by the service.

Dashboards over weeks cannot scan millions of raw points within a screen refresh, so
the service keeps per-device aggregates in 5-minute and 1-hour buckets (same tags as
the raw points; fields below). They are recomputed from the raw data by the service, which
reads the aggregates and writes them back as points (idempotent: a bucket computed again
overwrites itself; ``SELECT ... INTO`` is not used because InfluxDB 2.x and 3.x refuse it
through their v1 API).

Derived data follows the raw data: the writer books every hour each stored batch touched
(``dirty.py``), and this job recomputes exactly those buckets, however old (a gateway's
week-long backlog, an import of last month), within ``COALESCE_S`` plus the time the
queries take, a burst of batches together. An hour that is not over yet gets its 1-hour
bucket from its 5-minute ones, so that a round costs what changed, not the whole hour so
far; once it is over it is booked whole and made from the raw points, once. At start it
also computes the rollups that are still empty from the oldest raw reading on (a new
install or an upgrade), one day per query, going on where a stopped one got to
(``backfill.py``).
The same job keeps the hourly meter use of the reports (``meter_hours.py``).

InfluxDB's own continuous queries were not used: they see only the latest intervals,
so a gateway's backlog would never reach the aggregates.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial

from campuswatch.clock import Clock
from campuswatch.protocol import FieldValue
from campuswatch.worker import Worker
from ingest.errors import InfluxRejected, StorageError
from ingest.health import Problems
from ingest.storage.backfill import DAY_S, BackfillMarks
from ingest.storage.dirty import HOUR_S, DirtyHours, Taken
from ingest.storage.influx import InfluxClient
from ingest.storage.lineprotocol import encode_point
from ingest.storage.meter_hours import COUNTERS, MeterHours, usage_measurement

log = logging.getLogger(__name__)

TIERS_S = {"5m": 300, "1h": 3600}
FIVE_MIN_S = TIERS_S["5m"]
COALESCE_S = 20.0  # after a recompute, wait this long so a burst is recomputed together
POLL_S = 2.0  # how often to look for changed hours when there were none
RETRY_S = 30.0  # InfluxDB down: the changed hours are kept and tried again
_WRITE_BATCH = 5000


@dataclass(frozen=True, slots=True)
class Rollup:
    """The aggregates kept of one measurement: ``(function, field, name)``."""

    measurement: str
    fields: tuple[tuple[str, str, str], ...]

    def query(self, tier: str, start_s: int, end_s: int, source: str = "") -> str:
        """The ``SELECT`` of the buckets in ``[start, end)``, one series per device: from
        the raw points, or from the buckets of the finer tier ``source`` (the max of the
        maxima, the mean of the means, the last of the last values...)."""
        if source and TIERS_S[source] >= TIERS_S[tier]:  # it would read what it writes
            raise ValueError(f"{tier} buckets cannot be made from {source} ones")
        measurement = f"{self.measurement}_{source}" if source else self.measurement
        select = ", ".join(
            f'{fn}("{name if source else field}") AS "{name}"' for fn, field, name in self.fields
        )
        return (
            f'SELECT {select} FROM "{measurement}"'  # noqa: S608
            f" WHERE time >= {start_s}s AND time < {end_s}s GROUP BY time({tier}), * fill(none)"
        )

    def compute(
        self, client: InfluxClient, tier: str, start_s: int, end_s: int, source: str = ""
    ) -> int:
        """(Re)compute the buckets in ``[start, end)`` and write them; points written.

        Computed here and written back as line protocol rather than with ``SELECT ...
        INTO``, which InfluxDB 2.x and 3.x do not take through their v1 API.
        """
        lines = []
        for series in client.series(self.query(tier, start_s, end_s, source)):
            tags = {k: v for k, v in series.tags.items() if v}
            for row in series.values:
                fields = _floats(series.columns[1:], row[1:])
                if fields:
                    lines.append(
                        encode_point(f"{self.measurement}_{tier}", tags, fields, int(row[0]))
                    )
        for i in range(0, len(lines), _WRITE_BATCH):
            client.write("\n".join(lines[i : i + _WRITE_BATCH]).encode())
        return len(lines)


def _floats(names: list[str], values: list[object]) -> dict[str, FieldValue]:
    """A bucket's aggregates, every one a float: InfluxDB answers whole numbers (the max
    of a yes/no field) as integers, the derived series have always stored floats, and a
    shard refuses a field whose type changes."""
    return {
        name: float(value)
        for name, value in zip(names, values, strict=True)
        if isinstance(value, int | float) and not isinstance(value, bool)
    }


ROLLUPS = (
    # Doors: open at any moment of the bucket, unlocked at any moment (min of 0/1).
    Rollup(
        "door",
        (("max", "open", "open"), ("min", "locked", "locked"), ("last", "battery", "battery")),
    ),
    Rollup(
        "temperature",
        (
            ("max", "celsius", "celsius_max"),
            ("min", "celsius", "celsius_min"),
            ("mean", "celsius", "celsius"),
        ),
    ),
    Rollup(
        "electricity",
        (
            ("last", "energy_kwh", "energy_kwh"),
            ("mean", "power_w", "power_w"),
            ("max", "power_w", "power_w_max"),
        ),
    ),
    Rollup(
        "water",
        (
            ("last", "volume_m3", "volume_m3"),
            ("mean", "flow_m3h", "flow_m3h"),
            ("min", "flow_m3h", "flow_m3h_min"),
        ),
    ),
    Rollup("camera", (("max", "motion", "motion"), ("max", "persons", "persons"))),
    Rollup(
        "gateway",
        tuple(
            ("max", f, f)
            for f in (
                "uptime_s",
                "buffer_depth",
                "buffer_dropped",
                "publish_errors",
                "read_errors",
                "devices_unavailable",
                "cpu_temp_c",
            )
        ),
    ),
)


ROLLUP_OF = {r.measurement: r for r in ROLLUPS}
COUNTER_OF = {usage_measurement(kind): kind for kind in COUNTERS}
SEED_S = 8 * DAY_S  # booked again when the book is new but the derived series are not
FAILURES_SHOWN = 3  # rounds a key may fail before it is a health problem


def derived_keys() -> dict[str, tuple[str, ...]]:
    """Raw measurement -> the dirty-book keys of what is derived from it."""
    keys: dict[str, tuple[str, ...]] = {r.measurement: (r.measurement,) for r in ROLLUPS}
    for kind in COUNTERS:
        keys[kind] = (*keys.get(kind, ()), usage_measurement(kind))
    return keys


class RollupJob:
    """A thread that keeps the derived series current; InfluxDB being down only delays it."""

    def __init__(
        self,
        client: InfluxClient,
        clock: Clock,
        timezone: str,
        dirty: DirtyHours,
        keep_days: int = 0,
        problems: Problems | None = None,
        marks: BackfillMarks | None = None,
    ) -> None:
        """``marks``: how far each series' first computation got (in memory if None)."""
        self.client = client
        self.clock = clock
        self.dirty = dirty
        self.marks = marks or BackfillMarks(None)
        self.meter_hours = MeterHours(client, timezone, clock)
        self.keep_days = keep_days
        self.problems = problems or Problems()
        self._failures: dict[str, int] = {}
        self._worker = Worker("rollups", self._round)
        self._progress_s = time.monotonic()
        self._backfilled = False

    def start(self) -> None:
        """Start the thread."""
        self._worker.start()

    def stop(self) -> None:
        """Stop after the current query."""
        self._worker.stop(30)

    def age_s(self) -> float:
        """Seconds since a round ended or a long one (a backfill of months, a day per
        query) last made progress: the watchdog's age of the rollup job."""
        return min(self._worker.since_last_round(), time.monotonic() - self._progress_s)

    def recompute(self, taken: Taken) -> list[str]:
        """Recompute every taken run and mark each done; the keys that failed (kept)."""
        for key in [k for k in self._failures if k not in taken.runs]:  # done by a report
            self._succeeded(key)
        failed: list[str] = []
        for key, key_runs in taken.runs.items():
            errors = []
            for run in key_runs:
                if self._worker.stopping:  # stopped half-way: the rest is redone later
                    return failed
                try:
                    self._recompute(key, run)
                except StorageError as exc:
                    log.warning(
                        "derived series %s of %d h from %d not recomputed: %s",
                        key,
                        (run[1] - run[0]) // HOUR_S,
                        run[0],
                        exc,
                    )
                    errors.append(exc)
                    continue
                if not self._worker.stopping:
                    self.dirty.done(key, run, taken.generation)
            if errors:
                failed.append(key)
                self._failed(key, errors[-1])
            else:
                self._succeeded(key)
        return failed

    def _recompute(self, key: str, run: tuple[int, int]) -> None:
        start, end = run
        rollup = ROLLUP_OF.get(key)
        if rollup is None:
            if key in COUNTER_OF:
                self.meter_hours.refresh_changed(COUNTER_OF[key], start, end)
            return
        # A run ends on a whole hour and starts where its first hour changed.
        self._compute(rollup, "5m", start // FIVE_MIN_S * FIVE_MIN_S, end)
        first = start // HOUR_S * HOUR_S
        open_s = min(max(first, int(self.clock.time()) // HOUR_S * HOUR_S), end)
        self._compute(rollup, "1h", first, open_s)
        if open_s < end:
            # An open hour changes every round: reading all its raw points each time made
            # a round's cost grow with the hour. Until it is over, its bucket is made from
            # its 5-minute ones (a mean of their means); then, booked whole, from the raw.
            self._compute(rollup, "1h", open_s, end, source="5m")
            self.dirty.when_over(key, range(open_s // HOUR_S, end // HOUR_S))

    def _failed(self, key: str, exc: StorageError) -> None:
        """One more round in which runs of ``key`` failed; shown in health after a few."""
        count = self._failures[key] = self._failures.get(key, 0) + 1
        if count >= FAILURES_SHOWN:
            self.problems.report(
                f"rollups {key}", f"hours that changed are not recomputed ({count} rounds): {exc}"
            )

    def _succeeded(self, key: str) -> None:
        if self._failures.pop(key, 0) >= FAILURES_SHOWN:
            self.problems.clear(f"rollups {key}")

    def backfill(self) -> None:
        """Compute derived series that are still empty, or whose first computation was
        stopped, from the oldest raw reading on; the others, when the book is new (an
        upgrade, a lost book), get their last days booked."""
        now = int(self.clock.time())
        seed = None if self.dirty.existed else range((now - SEED_S) // HOUR_S, now // HOUR_S + 1)
        for rollup in ROLLUPS:
            oldest = None if self._worker.stopping else self._oldest(rollup.measurement)
            if oldest is None:
                continue
            for tier, size in TIERS_S.items():
                if self._worker.stopping:
                    return
                compute = partial(self._compute, rollup, tier)
                fresh = self._fill(f"{rollup.measurement}_{tier}", oldest, now + size, compute)
                if not fresh and seed is not None:
                    self.dirty.add({rollup.measurement: seed})
        for kind in COUNTERS:
            oldest = None if self._worker.stopping else self._oldest(kind)
            if oldest is None:
                continue
            # Day by day in time order: each day starts from the last reading of the one before.
            refresh = partial(self._refresh_day, kind)
            fresh = self._fill(usage_measurement(kind), oldest, now + DAY_S, refresh)
            if not fresh and seed is not None:
                self.dirty.add({usage_measurement(kind): seed})

    def _fill(
        self, series: str, oldest_s: int, end_s: int, compute: Callable[[int, int], None]
    ) -> bool:
        """Compute ``series`` a day at a time: when it is empty from ``oldest_s``, else
        from where its stopped first computation got to, if it was; whether it was empty."""
        first_day = oldest_s // DAY_S * DAY_S
        mark = self.marks.resume_from(series)
        empty = self._oldest(series) is None
        if empty:
            start = first_day
            self.marks.begin(series, start)  # before the first write: a stop goes on here
        elif mark is not None:
            start = max(mark, first_day)  # the raw days before it may have expired since
        else:
            return False
        log.info("computing %s from %s on", series, datetime.fromtimestamp(start, UTC).date())
        for day in range(start, end_s, DAY_S):
            if self._worker.stopping:
                return empty
            compute(day, min(day + DAY_S, end_s))
            if self._worker.stopping:  # it may have cut the day's queries short
                return empty
            self.marks.reached(series, day + DAY_S)
            self._progress_s = time.monotonic()
        self.marks.finished(series)
        return empty

    def _refresh_day(self, kind: str, day_s: int, _end_s: int) -> None:
        """The hourly use of ``kind``'s meters on one UTC day (the last one, whole)."""
        self.meter_hours.refresh(day_s, day_s + DAY_S, (kind,))

    def _compute(
        self, rollup: Rollup, tier: str, start_s: int, end_s: int, source: str = ""
    ) -> None:
        """One query per day, so none runs into the client's timeout."""
        while start_s < end_s and not self._worker.stopping:
            rollup.compute(self.client, tier, start_s, min(start_s + DAY_S, end_s), source)
            self._progress_s = time.monotonic()
            start_s += DAY_S

    def _oldest(self, measurement: str) -> int | None:
        rows = self.client.query(f'SELECT * FROM "{measurement}" ORDER BY time LIMIT 1')  # noqa: S608
        return int(rows[0]["time"]) // 1000 if rows else None

    def _retention(self) -> None:
        try:
            if self.client.ensure_retention(self.keep_days):
                kept = f"{self.keep_days} days" if self.keep_days else "forever"
                log.warning("InfluxDB database %s now keeps points %s", self.client.database, kept)
        except InfluxRejected as exc:  # not an admin: the install sets the policy
            log.warning("cannot set the retention of %s: %s", self.client.database, exc)

    def _round(self) -> float:
        """Backfill once, then recompute the hours the writer booked; the worker's step."""
        try:
            if not self._backfilled:
                self.client.create_database()
                self._retention()
                self.backfill()
                self._backfilled = True
        except StorageError as exc:  # InfluxDB down or refusing: try again later
            log.warning("rollups not started, trying again in %.0f s: %s", RETRY_S, exc)
            return RETRY_S
        taken = self.dirty.take(self.clock.time())
        if not taken.runs:
            return POLL_S
        return RETRY_S if self.recompute(taken) else COALESCE_S
