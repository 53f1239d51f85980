"""The meter buckets of the hour the meters report in now, advanced by what came since.

The rollup job recomputes every ~20 s the hours whose readings changed. For the live hour
that meant reading all of it again: at 500 meter readings a second, 1.8 million points by
its end, every round (tens of MB in the ingest per round, and its memory grew through each
hour). A ``LiveHour`` keeps each meter's walk through one recent hour and what it consumed,
so a round reads only what came since (see ``MeterHours._advance``):

- the readings after the last round's *watermark* (a time a little behind the clock);
- how many readings each meter has up to that watermark (InfluxDB counts them): a reading
  stored late, after the round that passed its time, changes that count;
- each meter's last reading before the hour (from the buckets before it): a recomputed
  earlier hour changes it.

A meter whose count or start moved, with a reading older than its last one consumed, or
with one consumed after the watermark that comes again with another value, is *late*: its
hour is read again, its own readings only. A reading at or before the watermark rewritten
at the same time with another value is not seen (only counts are compared there): no
gateway does that, a reading is named by its time. Nothing here is durable: after a
restart the first round reads the hour once, and the dirty book still says which hours
changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from ingest.storage.influx import SeriesDevice

if TYPE_CHECKING:  # meter_hours uses this module
    from ingest.storage.meter_hours import CounterWalk

Reading = tuple[int, float, dict[str, str]]  # time (epoch ms), counter, tags of its series


@dataclass(slots=True)
class LiveMeter:
    """One meter's walk through the live hour and the readings it consumed."""

    walk: CounterWalk
    start: float | None  # the last reading before the hour the walk started from
    settled: int = 0  # readings consumed at or before the hour's watermark
    tail: dict[int, float] = field(default_factory=dict)  # those after it: time -> value
    last_ms: int = 0  # the latest reading consumed (0: none)

    def take(self, readings: Iterable[Reading], watermark_ms: int) -> int | None:
        """Consume readings after the watermark, in time order; how many were new, or
        None if one is older than the last consumed and new, or changed (the meter is
        late)."""
        taken = 0
        for ts_ms, value, tags in readings:
            if ts_ms in self.tail:
                if self.tail[ts_ms] != value:
                    return None
                continue
            if ts_ms <= self.last_ms:
                return None
            self.walk.add(ts_ms / 1000, value, tags)
            self.tail[ts_ms] = value
            self.last_ms = ts_ms
            taken += 1
        self.settle(watermark_ms)
        return taken

    def settle(self, watermark_ms: int) -> None:
        """Count the consumed readings at or before ``watermark_ms`` as settled."""
        settled = [t for t in self.tail if t <= watermark_ms]
        self.settled += len(settled)
        for t in settled:
            del self.tail[t]


@dataclass(slots=True)
class LiveHour:
    """Every meter of one kind through one local hour (epoch s of its start)."""

    hour: int
    watermark_ms: int
    meters: dict[SeriesDevice, LiveMeter] = field(default_factory=dict)

    def update(
        self,
        walks: Mapping[SeriesDevice, CounterWalk],
        raw: Mapping[SeriesDevice, list[Reading]],
        initial: Mapping[SeriesDevice, float | None],
    ) -> None:
        """Replace the meters of ``walks`` with what a refresh that ended with this hour
        made of them: ``raw`` the readings it read, ``initial`` the walks' values before."""
        begin, end = self.hour * 1000, (self.hour + 3600) * 1000
        for device, walk in walks.items():
            readings = raw.get(device, [])
            before = [value for ts, value, _ in readings if ts < begin]
            start = before[-1] if before else initial.get(device)
            tail = {ts: value for ts, value, _ in readings if begin <= ts < end}
            bucket = walk.buckets.get(self.hour)
            meter = LiveMeter(
                replace(walk, buckets={self.hour: bucket} if bucket else {}),
                start,
                tail=tail,
                last_ms=max(tail, default=0),
            )
            meter.settle(self.watermark_ms)
            self.meters[device] = meter

    def late(
        self, starts: Mapping[SeriesDevice, float], counts: Mapping[SeriesDevice, int]
    ) -> set[SeriesDevice]:
        """Meters whose start moved or whose count up to the watermark is not what they
        consumed; a meter not known yet is late too (it is read whole)."""
        late = {d for d in counts.keys() | starts.keys() if d not in self.meters}
        for device, meter in self.meters.items():
            if meter.start != starts.get(device) or meter.settled != counts.get(device, 0):
                late.add(device)
        return late

    def advance(
        self, raw: Mapping[SeriesDevice, list[Reading]], watermark_ms: int, late: set[SeriesDevice]
    ) -> tuple[list[SeriesDevice], set[SeriesDevice]]:
        """Consume the readings after the old watermark of every meter not ``late`` and move
        the watermark (never back: a clock set back); the meters that took readings, and
        ``late`` with those found late."""
        watermark_ms = max(watermark_ms, self.watermark_ms)
        advanced, late = [], set(late)
        for device, meter in self.meters.items():
            if device in late:
                continue
            taken = meter.take(raw.get(device, []), watermark_ms)
            if taken is None:
                late.add(device)
            elif taken:
                advanced.append(device)
        late.update(d for d in raw if d not in self.meters)
        self.watermark_ms = watermark_ms
        return advanced, late
