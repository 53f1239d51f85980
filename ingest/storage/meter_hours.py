"""Hourly meter use, ``electricity_usage_1h`` and ``water_usage_1h``, made by the service.

A report over five weeks of 200 meters read every minute would scan ten million raw
points; these buckets hold what every usage report needs, exactly, in 1/60 of the points.
One point per device and *local* clock hour (site timezone, so half-hour zones get
half-hour-aligned buckets), time = the hour's start, same tags as the raw series:

- ``increase``: the sum of the non-negative increases of the cumulative counter whose
  later reading lies in this hour (SPEC §7). The pair across the hour boundary, or across
  a gap of any length, counts in the hour of its later reading; a drop (reset, replaced
  meter) counts nothing.
- ``first`` / ``last``: the first and last counter reading of the hour;
- ``readings``: how many readings; ``resets``: how many drops.

Computed in Python (InfluxQL's ``NON_NEGATIVE_DIFFERENCE`` cannot carry the pair across a
query window), by the same job as the other rollups whenever readings of an hour change
(see rollups.py). The hour the meters report in now (and the one before) advance by what
came since the last round instead of being read whole every round (meter_live.py).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from campuswatch.clock import Clock, SystemClock
from ingest.storage.influx import InfluxClient, SeriesDevice, quote_string, series_device
from ingest.storage.lineprotocol import encode_point
from ingest.storage.meter_live import LiveHour, Reading

log = logging.getLogger(__name__)

COUNTERS = {"electricity": "energy_kwh", "water": "volume_m3"}
LOOKBACK_S = 35 * 86_400  # how far back the reading before a window is looked for
DAY_S = 86_400  # one raw query per day of a window, so none runs into the client's timeout
_WRITE_BATCH = 5000
LIVE_HOURS = 2  # the hour now and the one before (its last readings come after it ends)
LIVE_MARGIN_MS = 30_000  # a reading usually reaches InfluxDB within this of its time


def hour_start_s(ts_s: float, tz: ZoneInfo) -> int:
    """Start (epoch s) of the local clock hour holding ``ts_s`` (half-hour zones included)."""
    offset = datetime.fromtimestamp(ts_s, tz).utcoffset()
    offset_s = int(offset.total_seconds()) if offset else 0
    whole = int(ts_s)
    return whole - (whole + offset_s) % 3600


def usage_measurement(kind: str) -> str:
    """The measurement holding ``kind``'s hourly use."""
    return f"{kind}_usage_1h"


@dataclass(slots=True)
class HourBucket:
    """What one device did in one local hour."""

    tags: dict[str, str]
    first: float
    last: float
    increase: float = 0.0
    readings: int = 0
    resets: int = 0

    def fields(self) -> dict[str, float]:
        """The stored fields (all floats, so the field types never conflict)."""
        return {
            "increase": round(self.increase, 6),
            "first": self.first,
            "last": self.last,
            "readings": float(self.readings),
            "resets": float(self.resets),
        }


@dataclass(slots=True)
class CounterWalk:
    """Turns one device's readings, in time order, into hour buckets."""

    tz: ZoneInfo
    previous: float | None = None
    buckets: dict[int, HourBucket] = field(default_factory=dict)
    _hour: int = -1  # the hour of the last reading (readings come in time order)

    def add(self, ts_s: float, value: float, tags: dict[str, str]) -> None:
        """Account one reading."""
        hour = self._hour
        if not hour <= ts_s < hour + 3600:
            hour = self._hour = hour_start_s(ts_s, self.tz)
        bucket = self.buckets.get(hour)
        if bucket is None:
            bucket = self.buckets[hour] = HourBucket(tags, value, value)
        bucket.tags = tags
        bucket.last = value
        bucket.readings += 1
        if self.previous is not None:
            step = value - self.previous
            if step > 0:
                bucket.increase += step
            elif step < 0:
                bucket.resets += 1
        self.previous = value


class MeterHours:
    """Recomputes the hourly use buckets of the cumulative meters over a window."""

    def __init__(self, client: InfluxClient, timezone: str, clock: Clock | None = None) -> None:
        self.client = client
        self.tz = ZoneInfo(timezone)
        self.clock = clock or SystemClock()
        self.lock = threading.RLock()  # the rollup job, report threads and the backfill
        self._live: dict[tuple[str, int], LiveHour] = {}  # (kind, hour): see meter_live

    def refresh(
        self,
        start_s: int,
        end_s: int,
        kinds: tuple[str, ...] = tuple(COUNTERS),
        devices: Sequence[str] = (),
    ) -> int:
        """Recompute the buckets of the local hours that overlap ``[start, end)``, a day
        per query in time order, of every meter (or of ``devices``); points written."""
        start_s = hour_start_s(start_s, self.tz)
        end_s = hour_start_s(end_s - 1, self.tz) + 3600  # whole hours (half-hour zones too)
        written = 0
        with self.lock:  # a stale read written last would overwrite a fresh bucket
            for day in range(start_s, end_s, DAY_S):
                for kind in kinds:
                    written += self._refresh(kind, day, min(day + DAY_S, end_s), devices)
        return written

    def refresh_changed(self, kind: str, start_s: int, end_s: int) -> int:
        """Recompute after readings in ``[start, end)`` changed: those hours, and for each
        meter the hour of its next reading after them, whose increase starts from a
        reading that may have changed (a month-old import changes the hour after a gap).

        One at a time (the rollup job and reports both call it)."""
        with self.lock:
            start_s = hour_start_s(start_s, self.tz)
            end_s = hour_start_s(end_s - 1, self.tz) + 3600
            written = self._recompute(kind, start_s, end_s)
            for hour, devices in self._next_readings(kind, end_s).items():
                live = self._live.get((kind, hour))
                if live is not None:
                    written += self._advance(kind, live)
                else:
                    written += self.refresh(hour, hour + 3600, (kind,), devices)
            return written

    def catch_up(self, start_s: int, end_s: int) -> int:
        """Recompute ``[start, end)`` of every kind now (a report of the running period);
        live hours only advance."""
        return sum(self.refresh_changed(kind, start_s, end_s) for kind in COUNTERS)

    def _recompute(self, kind: str, start_s: int, end_s: int) -> int:
        """Live hours of ``[start, end)`` advance, the spans between them are read again;
        in time order, so each hour starts from the buckets before it."""
        written, begin = 0, start_s
        for hour in range(start_s, end_s, 3600):
            live = self._live.get((kind, hour))
            if live is None:
                continue
            if begin < hour:
                written += self.refresh(begin, hour, (kind,))
            written += self._advance(kind, live)
            begin = hour + 3600
        if begin < end_s:
            written += self.refresh(begin, end_s, (kind,))
        return written

    def _advance(self, kind: str, live: LiveHour) -> int:
        """Bring a live hour up to date from the readings after its watermark; the meters
        found late are read again, theirs only (see meter_live). If anything fails the
        hour is forgotten and read whole next time: its state may be ahead of the store."""
        # The new watermark is taken before reading, so a reading at or before it that is
        # stored after the read shows in the next round's count.
        watermark_ms = self._watermark_ms(live.hour)
        try:
            starts = last_counters(self.client, kind, live.hour)
            late = live.late(starts, self._counts(kind, live.hour, live.watermark_ms))
            raw = self._raw(kind, live.watermark_ms + 1, (live.hour + 3600) * 1000)
            advanced, late = live.advance(raw, watermark_ms, late)
            written = self._write(kind, {d: live.meters[d].walk for d in advanced})
            if late:
                for device in late:  # a meter with nothing left is not kept late forever
                    live.meters.pop(device, None)
                names = sorted({device for _, _, device in late})
                written += self._refresh(kind, live.hour, live.hour + 3600, names)
        except BaseException:
            self._live.pop((kind, live.hour), None)
            raise
        return written

    def _watermark_ms(self, hour: int) -> int:
        """A time within ``hour`` by which its readings have normally been stored."""
        now_ms = int(self.clock.time() * 1000)
        return min(max(now_ms - LIVE_MARGIN_MS, hour * 1000 - 1), (hour + 3600) * 1000 - 1)

    def _counts(self, kind: str, hour: int, until_ms: int) -> dict[SeriesDevice, int]:
        """Each meter's readings in ``hour`` up to ``until_ms``."""
        counts: dict[SeriesDevice, int] = {}
        for series in self.client.series(
            f'SELECT count("{COUNTERS[kind]}") FROM "{kind}"'  # noqa: S608
            f" WHERE time >= {hour}s AND time <= {until_ms}ms GROUP BY *"
        ):
            device = series_device(series.tags)
            counts[device] = counts.get(device, 0) + int(series.values[0][1])
        return counts

    def _refresh(self, kind: str, start_s: int, end_s: int, devices: Sequence[str]) -> int:
        walks = self._walks(kind, start_s)
        initial = {device: walk.previous for device, walk in walks.items()}
        raw = self._raw(kind, start_s * 1000, end_s * 1000, devices)
        for device, readings in raw.items():
            walk = walks.setdefault(device, CounterWalk(self.tz))
            for ts_ms, value, tags in readings:
                walk.add(ts_ms / 1000, value, tags)
        written = self._write(kind, walks)
        self._remember(kind, end_s - 3600, walks, raw, initial, devices)
        return written

    def _remember(
        self,
        kind: str,
        hour: int,
        walks: dict[SeriesDevice, CounterWalk],
        raw: dict[SeriesDevice, list[Reading]],
        initial: dict[SeriesDevice, float | None],
        devices: Sequence[str],
    ) -> None:
        """Keep the walks through ``hour``, the last of a refresh, when it is live: the
        hour now or the one before (later hours, of clocks ahead, are read whole)."""
        now = hour_start_s(self.clock.time(), self.tz)
        oldest = now - 3600 * (LIVE_HOURS - 1)
        for key in [key for key in self._live if key[1] < oldest]:
            del self._live[key]
        live = self._live.get((kind, hour))
        if not oldest <= hour <= now or (devices and live is None):
            return
        if live is None:
            live = self._live[kind, hour] = LiveHour(hour, self._watermark_ms(hour))
        names = set(devices)
        live.update({d: w for d, w in walks.items() if not names or d[2] in names}, raw, initial)

    def _next_readings(self, kind: str, after_s: int) -> dict[int, list[str]]:
        """Local hour -> the meters whose first reading at or after ``after_s`` is in it."""
        rows = self.client.query(
            f'SELECT first("{COUNTERS[kind]}") FROM "{kind}"'  # noqa: S608
            f" WHERE time >= {after_s}s AND time < {after_s + LOOKBACK_S}s"
            " GROUP BY site, gateway, device"
        )
        hours: dict[int, list[str]] = {}
        for row in rows:
            hour = hour_start_s(int(row["time"]) // 1000, self.tz)
            hours.setdefault(hour, []).append(str(row["device"]))
        return hours

    def _walks(self, kind: str, start_s: int) -> dict[SeriesDevice, CounterWalk]:
        """Each device's last reading before the window, from the buckets already made."""
        previous = last_counters(self.client, kind, start_s)
        return {key: CounterWalk(self.tz, previous=value) for key, value in previous.items()}

    def _raw(
        self, kind: str, start_ms: int, end_ms: int, devices: Sequence[str] = ()
    ) -> dict[SeriesDevice, list[Reading]]:
        """Each device's readings in ``[start, end)``, in time order, with the tags of
        their series."""
        only = " OR ".join(f'"device" = {quote_string(d)}' for d in devices)
        answer = self.client.series(
            f'SELECT "{COUNTERS[kind]}" FROM "{kind}"'  # noqa: S608
            f" WHERE time >= {start_ms}ms AND time < {end_ms}ms"
            + (f" AND ({only})" if only else "")
            + " GROUP BY *"
        )
        readings: dict[SeriesDevice, list[Reading]] = {}
        for series in answer:
            tags = {k: v for k, v in series.tags.items() if v}
            mine = readings.setdefault(series_device(series.tags), [])
            merge = bool(mine)  # a device whose tags changed has several series
            mine.extend((t, float(v), tags) for t, v in series.values)
            if merge:
                mine.sort(key=lambda r: r[0])
        return readings

    def _write(self, kind: str, walks: dict[SeriesDevice, CounterWalk]) -> int:
        measurement = usage_measurement(kind)
        lines = [
            encode_point(measurement, bucket.tags, bucket.fields(), hour * 1000)
            for walk in walks.values()
            for hour, bucket in walk.buckets.items()
        ]
        for i in range(0, len(lines), _WRITE_BATCH):
            self.client.write("\n".join(lines[i : i + _WRITE_BATCH]).encode())
        return len(lines)


def last_counters(client: InfluxClient, kind: str, before_s: int) -> dict[SeriesDevice, float]:
    """Each meter's last counter reading before ``before_s`` (looking back 35 days)."""
    rows = client.query(
        f'SELECT last("last") AS last FROM "{usage_measurement(kind)}"'  # noqa: S608
        f" WHERE time < {before_s}s AND time >= {before_s - LOOKBACK_S}s"
        " GROUP BY site, gateway, device"
    )
    return {series_device(r): float(r["last"]) for r in rows}
