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

A meter whose count or start moved, or with a reading older than its last one consumed, is
*late*: its hour is read again, its own readings only. Nothing here is durable: after a
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
    tail: list[int] = field(default_factory=list)  # times of those consumed after it
    last_ms: int = 0  # the latest reading consumed (0: none)

    def take(self, readings: Iterable[Reading], watermark_ms: int) -> bool:
        """Consume readings after the watermark, in time order; False if one is older than
        the last consumed and was not consumed (the meter is late)."""
        seen = set(self.tail)
        for ts_ms, value, tags in readings:
            if ts_ms in seen:
                continue
            if ts_ms <= self.last_ms:
                return False
            self.walk.add(ts_ms / 1000, value, tags)
            self.tail.append(ts_ms)
            self.last_ms = ts_ms
        self.settle(watermark_ms)
        return True

    def settle(self, watermark_ms: int) -> None:
        """Move the consumed readings at or before ``watermark_ms`` out of the tail."""
        settled = [t for t in self.tail if t <= watermark_ms]
        self.settled += len(settled)
        self.tail = [t for t in self.tail if t > watermark_ms]


@dataclass(slots=True)
class LiveHour:
    """Every meter of one kind through one local hour (epoch s of its start)."""

    hour: int
    watermark_ms: int
    meters: dict[SeriesDevice, LiveMeter] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        hour: int,
        watermark_ms: int,
        starts: Mapping[SeriesDevice, float],
        walks: Mapping[SeriesDevice, CounterWalk],
        raw: Mapping[SeriesDevice, list[Reading]],
    ) -> LiveHour:
        """The hour as a refresh that ended with it left it: ``starts`` are the meters'
        readings before the hour, ``walks`` their walks, ``raw`` the readings read."""
        live = cls(hour, watermark_ms)
        live.update(starts, walks, raw)
        return live

    def update(
        self,
        starts: Mapping[SeriesDevice, float],
        walks: Mapping[SeriesDevice, CounterWalk],
        raw: Mapping[SeriesDevice, list[Reading]],
    ) -> None:
        """Replace the meters of ``walks`` with what a refresh of the hour made of them."""
        begin, end = self.hour * 1000, (self.hour + 3600) * 1000
        for device, walk in walks.items():
            times = [r[0] for r in raw.get(device, ()) if begin <= r[0] < end]
            bucket = walk.buckets.get(self.hour)
            mine = replace(walk, buckets={self.hour: bucket} if bucket else {})
            meter = LiveMeter(mine, starts.get(device), tail=times, last_ms=max(times, default=0))
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
    ) -> list[SeriesDevice]:
        """Consume the readings after the old watermark of every meter not ``late`` and move
        the watermark; the meters that took readings. Meters found late join ``late``."""
        advanced = []
        for device, meter in self.meters.items():
            if device in late:
                continue
            readings = raw.get(device, [])
            if not meter.take(readings, watermark_ms):
                late.add(device)
            elif readings:
                advanced.append(device)
        late.update(d for d in raw if d not in self.meters)
        self.watermark_ms = watermark_ms
        return advanced
