"""The live hour of the meter buckets advances by what came since the last round (real
influxd): each round reads a few seconds of readings, not the hour, and the buckets equal
what a walk over every reading of the hour gives after every round, whatever came late, out
of order, again, from a new meter, changed the hour before, or failed half-way."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ingest.errors import StorageError
from ingest.storage.influx import InfluxClient, Series
from ingest.storage.lineprotocol import encode_point
from ingest.storage.meter_hours import CounterWalk, MeterHours, hour_start_s
from tests.clock import ManualClock

TZ = "Asia/Shanghai"
HOUR = 1_795_993_200  # 2026-11-30 04:00 local (a whole hour in UTC too)
STEP_MS = 10_000


@dataclass
class Meters:
    """Counter readings written to InfluxDB and kept here, to compute what buckets must be."""

    client: InfluxClient
    tz: str = TZ
    rng: random.Random = field(default_factory=lambda: random.Random(4))
    points: dict[str, dict[int, float]] = field(default_factory=dict)
    values: dict[str, float] = field(default_factory=dict)

    def read(self, device: str, ts_ms: int, value: float | None = None) -> None:
        self.values[device] = (
            value if value is not None else self.values.get(device, 100.0) + self.rng.random()
        )
        self.points.setdefault(device, {})[ts_ms] = self.values[device]
        tags = {"site": "s", "gateway": "gw", "device": device}
        self.client.write(
            encode_point("electricity", tags, {"energy_kwh": self.values[device]}, ts_ms).encode()
        )

    def expected(self, hour: int) -> dict[str, dict[str, float]]:
        """Each meter's bucket of ``hour``, walked from every reading there is."""
        out = {}
        for device, points in self.points.items():
            walk = CounterWalk(ZoneInfo(self.tz))
            for ts_ms in sorted(points):
                walk.add(ts_ms / 1000, points[ts_ms], {})
            if hour in walk.buckets:
                out[device] = walk.buckets[hour].fields()
        return out


def stored(client: InfluxClient, hour: int) -> dict[str, dict[str, float]]:
    rows = client.query(
        f'SELECT * FROM "electricity_usage_1h" WHERE time = {hour}s GROUP BY "device"'
    )
    fields = ("increase", "first", "last", "readings", "resets")
    return {row["device"]: {f: row[f] for f in fields} for row in rows}


def check(meters: Meters, *hours: int) -> None:
    for hour in hours:
        assert stored(meters.client, hour) == meters.expected(hour), hour


class Counted:
    """Counts the raw points the meter buckets read (wraps the real client's ``series``)."""

    def __init__(self, client: InfluxClient) -> None:
        self.points = 0
        self._series: Callable[..., list[Series]] = client.series
        client.series = self._count  # type: ignore[method-assign]

    def _count(self, influxql: str, params: Any = None) -> list[Series]:
        answer = self._series(influxql, params)
        if influxql.startswith('SELECT "energy_kwh"'):
            self.points += sum(len(s.values) for s in answer)
        return answer

    def take(self) -> int:
        points, self.points = self.points, 0
        return points


@pytest.fixture
def meters(client: InfluxClient) -> Meters:
    return Meters(client)


@pytest.mark.parametrize(("tz", "hour"), [(TZ, HOUR), ("Asia/Kolkata", HOUR + 1800)])
def test_each_round_reads_only_the_readings_since_the_last(
    client: InfluxClient, tz: str, hour: int
) -> None:
    meters = Meters(client, tz)
    clock = ManualClock(hour + 600)
    hours = MeterHours(client, tz, clock)
    for device in ("m1", "m2", "m3", "m4"):
        meters.read(device, (hour - 3000) * 1000)  # the hour before: each meter's start
    hours.refresh(hour - 3600, hour)
    for device in ("m1", "m2", "m3", "m4"):
        for ts in range(hour * 1000, (hour + 600) * 1000, STEP_MS):
            meters.read(device, ts)
    counted = Counted(client)
    hours.refresh_changed("electricity", hour, hour + 1)  # after a start: the hour, once
    assert counted.take() == 4 * 60
    per_round = []
    for _ in range(30):  # ten minutes more, a round every 20 s
        for ts in range(int(clock.time() * 1000), int(clock.time() * 1000) + 20_000, STEP_MS):
            for device in ("m1", "m2", "m3", "m4"):
                meters.read(device, ts)
        clock.advance(20)
        hours.refresh_changed("electricity", hour, hour + 1)
        per_round.append(counted.take())
        check(meters, hour)
    # What came since (2 readings a meter) and the 30-s margin behind the clock (3 more).
    assert max(per_round) <= 4 * 5


def _live_hour(
    client: InfluxClient, clock: ManualClock, skip: tuple[str, int]
) -> tuple[Meters, MeterHours]:
    """Meters m1..m4 from 04:00 to the clock, a reading each 10 s (but ``skip``), and a
    start in the hour before; both hours computed."""
    meters = Meters(client)
    hours = MeterHours(client, TZ, clock)
    for device in ("m1", "m2", "m3", "m4"):
        meters.read(device, (HOUR - 3000) * 1000)
    for ts in range(HOUR * 1000, int(clock.time() * 1000), STEP_MS):
        for device in ("m1", "m2", "m3", "m4"):
            if (device, ts) != skip:
                meters.read(device, ts)
    hours.refresh_changed("electricity", HOUR - 3600, HOUR + 1)
    return meters, hours


def test_late_out_of_order_new_meters_and_a_moved_start_give_the_full_walk(
    client: InfluxClient,
) -> None:
    clock = ManualClock(HOUR + 1200)
    skipped = (HOUR + 300) * 1000  # m1's reading at 04:05, held back by its gateway
    meters, hours = _live_hour(client, clock, ("m1", skipped))
    check(meters, HOUR - 3600, HOUR)
    counted = Counted(client)

    meters.read("m1", skipped, meters.points["m1"][skipped - STEP_MS] + 0.5)  # late
    # m2's reading after the watermark but before its last one consumed.
    meters.read("m2", (HOUR + 1185) * 1000, meters.points["m2"][(HOUR + 1180) * 1000] + 0.1)
    meters.read("m3", (HOUR + 1200) * 1000, 0.0)  # a reset, in order
    meters.read("m5", (HOUR + 1201) * 1000, 7.0)  # a meter never seen
    clock.advance(20)
    hours.refresh_changed("electricity", HOUR, HOUR + 1)
    check(meters, HOUR)
    # The 11 readings after the watermark; then m1, m2 and m5 alone, each its whole hour.
    assert counted.take() == 11 + 120 + 121 + 1

    # The hour before changes: m4's start moves, and its increase across the hour with it.
    meters.read("m4", (HOUR - 60) * 1000, meters.points["m4"][(HOUR - 3000) * 1000] + 3.0)
    hours.refresh_changed("electricity", HOUR - 3600, HOUR)
    check(meters, HOUR - 3600, HOUR)


def test_a_reading_rewritten_with_another_value_after_the_watermark_is_read_again(
    client: InfluxClient,
) -> None:
    clock = ManualClock(HOUR + 600)
    meters, hours = _live_hour(client, clock, ("", 0))
    meters.read("m3", (HOUR + 590) * 1000, 0.0)  # was a counter reading; now a reset
    meters.read("m3", (HOUR + 600) * 1000)
    clock.advance(20)
    hours.refresh_changed("electricity", HOUR, HOUR + 1)
    check(meters, HOUR)


def test_a_round_that_fails_half_way_loses_nothing(client: InfluxClient) -> None:
    clock = ManualClock(HOUR + 3590)
    meters, hours = _live_hour(client, clock, ("", 0))
    for device in ("m1", "m2"):
        meters.read(device, (HOUR + 3595) * 1000)  # the hour's last readings
    clock.advance(60)  # the watermark passes the hour's end
    write = client.write

    def refuse(_body: bytes) -> None:
        raise StorageError("InfluxDB is not answering")

    client.write = refuse  # type: ignore[method-assign,assignment]
    with pytest.raises(StorageError):
        hours.refresh_changed("electricity", HOUR, HOUR + 1)
    client.write = write  # type: ignore[method-assign]
    hours.refresh_changed("electricity", HOUR, HOUR + 1)  # the job tries the run again
    check(meters, HOUR)


def test_the_hours_turn_and_the_last_readings_of_the_old_one_still_count(
    client: InfluxClient, meters: Meters
) -> None:
    clock = ManualClock(HOUR + 3590)
    hours = MeterHours(client, TZ, clock)
    for ts in range(HOUR * 1000, (HOUR + 3590) * 1000, STEP_MS):
        meters.read("m1", ts)
    hours.refresh_changed("electricity", HOUR, HOUR + 1)
    counted = Counted(client)
    clock.advance(15)
    meters.read("m1", (HOUR + 3595) * 1000)  # the old hour's last, stored after it ended
    meters.read("m1", (HOUR + 3600) * 1000)
    meters.read("m1", (HOUR + 3604) * 1000)
    hours.refresh_changed("electricity", HOUR, HOUR + 3601)
    check(meters, HOUR, HOUR + 3600)
    # The old hour after its watermark (04:59:30, 04:59:40, 04:59:55); the new one whole.
    assert counted.take() == 3 + 2
    clock.advance(20)
    meters.read("m1", (HOUR + 3590) * 1000 + 1)  # later still, and out of order
    hours.refresh_changed("electricity", HOUR, HOUR + 1)
    check(meters, HOUR, HOUR + 3600)
    assert hour_start_s(clock.time(), ZoneInfo(TZ)) == HOUR + 3600


def test_a_seeded_mix_of_rounds_always_gives_the_full_walk(client: InfluxClient) -> None:
    """Many rounds; each meter's readings come in time order, some late by up to two
    minutes, some twice, some resets, a new meter now and then; checked after each round."""
    rng = random.Random(24)
    clock = ManualClock(HOUR + 60)
    meters, hours = _live_hour(client, clock, ("", 0))
    held: list[tuple[str, int]] = []
    for round_no in range(60):
        now_ms = int(clock.time() * 1000)
        for device in [f"m{i}" for i in range(1, 5 + round_no // 20)]:
            ts = now_ms + rng.randrange(0, 20_000)
            if rng.random() < 0.1:
                held.append((device, ts - rng.randrange(0, 120_000)))  # comes later
            elif rng.random() < 0.05:
                meters.read(device, ts, 0.0)  # a reset
            else:
                meters.read(device, ts)
            if rng.random() < 0.1 and meters.points[device]:
                again = rng.choice(list(meters.points[device]))
                meters.read(device, again, meters.points[device][again])  # sent twice
        while held and rng.random() < 0.5:
            device, ts = held.pop(0)
            meters.read(device, max(ts, HOUR * 1000))
        clock.advance(20)
        hours.refresh_changed("electricity", HOUR, int(clock.time()))
        check(meters, HOUR, HOUR + 3600)
