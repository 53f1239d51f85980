"""The simulated source: deterministic, plausible, on schedule, scenarios on time."""

from __future__ import annotations

from datetime import time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from gateway.config import SimulatedSourceConfig
from gateway.sources.simulated import SimulatedSource, fail_time, sample_campus
from tests.clock import ManualClock
from tests.gateway.harness import Collector

TZ = ZoneInfo("Asia/Shanghai")
MONDAY_0900 = 1_795_395_600.0  # 2026-11-23 09:00 Asia/Shanghai (a Monday)


def _config(**extra: object) -> SimulatedSourceConfig:
    devices = [
        {"device": "fridge-1", "kind": "temperature", "tags": {"class": "refrigerator"}},
        {"device": "freezer-1", "kind": "temperature", "tags": {"class": "freezer"}},
        {"device": "meter-1", "kind": "electricity"},
        {"device": "water-1", "kind": "water"},
        {"device": "door-1", "kind": "door"},
        {"device": "smoke-1", "kind": "smoke"},
    ]
    return SimulatedSourceConfig.model_validate(
        {"type": "simulated", "seed": 7, "every_s": 10, "devices": devices, **extra}
    )


def _run(source: SimulatedSource, clock: ManualClock, seconds: float, step: float) -> Collector:
    got = Collector()
    source._emit = got  # drive the steps by hand instead of from the thread
    source._fail_ts = {d: fail_time(at, clock.time(), TZ) for d, at in source.fail_at.items()}
    elapsed = 0.0
    while elapsed < seconds:
        source._step()
        clock.advance(step)
        elapsed += step
    return got


def test_same_seed_same_readings() -> None:
    first = _run(
        SimulatedSource(_config(), "Asia/Shanghai", c := ManualClock(MONDAY_0900)), c, 600, 1
    )
    again = _run(
        SimulatedSource(_config(), "Asia/Shanghai", c := ManualClock(MONDAY_0900)), c, 600, 1
    )
    assert first.readings == again.readings
    assert len(first.of("fridge-1")) == 60


def test_values_are_plausible_over_a_day() -> None:
    clock = ManualClock(MONDAY_0900)
    got = _run(SimulatedSource(_config(), "Asia/Shanghai", clock), clock, 86_400, 10)
    fridge = [r["values"]["celsius"] for r in got.of("fridge-1")]
    freezer = [r["values"]["celsius"] for r in got.of("freezer-1")]
    assert min(fridge) > 2
    assert max(fridge) < 8.5
    assert max(fridge) > 5.5  # the door-open spikes are there
    assert min(freezer) > -22.5
    assert max(freezer) < -15
    energy = [r["values"]["energy_kwh"] for r in got.of("meter-1")]
    assert energy == sorted(energy)
    assert energy[-1] - energy[0] > 50
    doors = [r["values"]["open"] for r in got.of("door-1")]
    assert any(doors)
    assert not all(doors)
    assert not any(r["values"]["smoke"] for r in got.of("smoke-1"))


def test_a_stall_never_repeats_a_timestamp() -> None:
    clock = ManualClock(MONDAY_0900)
    source = SimulatedSource(_config(), "Asia/Shanghai", clock)
    got = _run(source, clock, 5, 1)
    clock.advance(35)  # the step thread was starved for over three periods
    source._step()
    source._step()  # runs again at once: nothing is due yet
    clock.advance(10)
    source._step()
    stamps = [r["ts"] for r in got.of("fridge-1")]
    assert len(stamps) == len(set(stamps)) == 3


def test_scenarios_fail_after_a_delay_or_at_a_time_of_day() -> None:
    assert fail_time(timedelta(minutes=5), MONDAY_0900, TZ) == MONDAY_0900 + 300
    assert fail_time(time(21, 30), MONDAY_0900, TZ) == MONDAY_0900 + 12.5 * 3600
    assert fail_time(time(8, 0), MONDAY_0900, TZ) == MONDAY_0900 + 23 * 3600  # tomorrow
    clock = ManualClock(MONDAY_0900 + 12 * 3600)  # 21:00
    config = _config(fail={"door-1": "21:30", "fridge-1": "10m", "smoke-1": "21:30"})
    got = _run(SimulatedSource(config, "Asia/Shanghai", clock), clock, 3600, 10)
    door = [(r["ts"], r["values"]) for r in got.of("door-1")]
    left_open = [ts for ts, v in door if v["open"] and not v["locked"]]
    assert left_open[0] >= (MONDAY_0900 + 12.5 * 3600) * 1000
    assert all(v["open"] for ts, v in door if ts >= left_open[0])
    fridge = [r["values"]["celsius"] for r in got.of("fridge-1")]
    assert fridge[-1] > 15  # the compressor stopped 10 minutes in
    assert got.of("smoke-1")[-1]["values"]["smoke"] is True


def test_the_main_meter_counts_more_than_the_canteen_behind_it_every_hour() -> None:
    # The sample campus's 食堂电表 is behind 总电表 (its parent tag): every hour the main
    # meter's use must include the canteen's, or the report's unmetered rest goes negative.
    devices = {d.device: d for ds in sample_campus().values() for d in ds}
    assert devices["meter-canteen"].tags["parent"] == "meter-main"
    meters = [
        {"device": d, "kind": "electricity", "tags": dict(devices[d].tags)}
        for d in ("meter-main", "meter-canteen")
    ]
    config = SimulatedSourceConfig.model_validate(
        {"type": "simulated", "seed": 3, "every_s": 300, "devices": meters}
    )
    clock = ManualClock(MONDAY_0900)
    got = _run(SimulatedSource(config, "Asia/Shanghai", clock), clock, 7 * 86_400, 300)
    main, canteen = (
        [r["values"]["energy_kwh"] for r in got.of(d)][::12]
        for d in ("meter-main", "meter-canteen")
    )
    hours = list(zip(pairwise(main), pairwise(canteen), strict=True))
    assert len(hours) > 160
    for (m0, m1), (c0, c1) in hours:
        assert m1 - m0 > c1 - c0 > 0
