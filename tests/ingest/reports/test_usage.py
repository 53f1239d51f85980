"""Weekly usage and daily readings on a real InfluxDB, with answers worked out by hand.

Week 2026-W47 in Shanghai is Mon 2026-11-16 00:00 to Mon 2026-11-23 00:00 (+08:00), i.e.
2026-11-15T16:00Z to 2026-11-22T16:00Z. History starts 2026-10-18 12:00, before W43.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from campuswatch.protocol import DeviceInfo
from demo.services import InfluxServer
from ingest.config.reports import ReportsConfig
from ingest.registry import Registry
from ingest.reports.meters import MeterStore
from ingest.reports.models import MeterUsage, WeeklyUsage
from ingest.reports.periods import PeriodError
from ingest.reports.usage import UsageReports
from ingest.storage.influx import InfluxClient
from ingest.storage.meter_hours import MeterHours
from tests.clock import ManualClock
from tests.harness import unique
from tests.ingest.reports.data import announce, counter, every, local, write

Series = dict[str, list[tuple[datetime, float]]]
Campus = tuple[InfluxClient, UsageReports, Series]
HISTORY_START = local("2026-10-18 12:00")
HISTORY_END = local("2026-11-24 00:00")
TEN_MIN, HOUR = timedelta(minutes=10), timedelta(hours=1)
TARIFFS = {
    "currency": "CNY",
    "electricity": {
        "bands": [
            {"name": "峰", "from": "08:00", "to": "18:00", "price": 1.0},
            {"name": "谷", "from": "22:00", "to": "06:00", "price": 0.3},
        ],
        "default": 0.6,
    },
    "water": 4.0,
}


def _main_meter_use(t: datetime) -> float:
    """总表: 1 kWh per 10 min from 08:00 to 18:00, 0.1 otherwise (68.4 kWh a day)."""
    return 1.0 if 8 <= (t - TEN_MIN).hour < 18 else 0.1


def _write_history(client: InfluxClient) -> Series:
    ten_min = list(every(HISTORY_START, HISTORY_END, TEN_MIN))
    hourly = list(every(HISTORY_START, HISTORY_END, HOUR))
    w47 = local("2026-11-16 00:00")
    series = {
        # Reset to 0 on Wednesday 12:00: the drop counts nothing (one 1 kWh step lost).
        "meter-main": counter(
            iter(ten_min), _main_meter_use, start=1000, override={local("2026-11-18 12:00"): 0.0}
        ),
        # Sparse readings around the week's edges: Shanghai says 50, a UTC week would say 60.
        "meter-kitchen": [
            (local("2026-11-15 23:00"), 100.0),
            (local("2026-11-16 01:00"), 110.0),
            (local("2026-11-22 23:30"), 150.0),
            (local("2026-11-23 01:00"), 170.0),
        ],
        # 3 kWh an hour; no readings Tue 02:00-06:00 (the 06:00 reading carries the 12 kWh).
        "meter-gym": [
            (t, v)
            for t, v in counter(iter(ten_min), lambda _t: 0.5)
            if not local("2026-11-17 02:00") <= t < local("2026-11-17 06:00")
        ],
        # 0.5 m³ at each reading 09:00-18:00 (5 m³ a day); replaced Thu 12:00 by a new meter.
        "water-main": counter(
            iter(hourly),
            lambda t: 0.5 if 9 <= t.hour <= 18 else 0.0,
            start=5000,
            override={local("2026-11-19 12:00"): 0.0},
        ),
        # Daytime only before W47; from W47 on it never stops: 0.02 m³ every hour (a leak).
        "water-kitchen": counter(
            iter(hourly), lambda t: 0.02 if t >= w47 or 9 <= t.hour <= 18 else 0.0
        ),
    }
    # 5 kWh at each reading 09:00-18:00; at night 0.5, from W47 on 2.0 (left switched on).
    series["meter-lab"] = counter(
        iter(hourly), lambda t: 5.0 if 9 <= t.hour <= 18 else (2.0 if t >= w47 else 0.5)
    )
    kinds = dict.fromkeys(("meter-main", "meter-kitchen", "meter-gym", "meter-lab"), "electricity")
    buildings = {"meter-main": "main", "water-main": "main", "meter-gym": "gym", "meter-lab": "lab"}
    for device, points in series.items():
        kind = kinds.get(device, "water")
        field = "energy_kwh" if kind == "electricity" else "volume_m3"
        write(client, kind, device, field, points, {"building": buildings.get(device, "canteen")})
    return series


def _devices() -> list[DeviceInfo]:
    def info(device: str, kind: str, name: str, interval_s: int, building: str) -> DeviceInfo:
        return DeviceInfo(
            device=device, kind=kind, name=name, interval_s=interval_s, tags={"building": building}
        )

    return [
        info("meter-main", "electricity", "总表", 600, "main"),
        info("meter-kitchen", "electricity", "厨房电表", 86_400, "canteen"),
        info("meter-gym", "electricity", "体育馆", 600, "gym"),
        info("meter-annex", "electricity", "附楼", 600, "annex"),  # never sent anything
        info("meter-lab", "electricity", "实验楼", 3600, "lab"),
        info("water-main", "water", "总水表", 3600, "main"),
        info("water-kitchen", "water", "厨房水表", 3600, "canteen"),
    ]


@pytest.fixture(scope="module")
def campus(influxd: InfluxServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Campus]:
    client = InfluxClient(influxd.url, unique("reports"))
    client.create_database()
    series = _write_history(client)
    clock = ManualClock(local("2026-11-25 09:00").timestamp())
    registry = Registry(Path(tmp_path_factory.mktemp("reg")) / "registry.json", clock)
    announce(registry, _devices())
    hours = MeterHours(client, "Asia/Shanghai")
    day = int(HISTORY_START.timestamp()) // 86_400 * 86_400
    while day < HISTORY_END.timestamp():  # as the rollup backfill does: day by day
        hours.refresh(day, day + 86_400)
        day += 86_400
    settings = ReportsConfig.model_validate({"tariffs": TARIFFS})
    reports = UsageReports(
        MeterStore(client, registry), hours, settings, "Asia/Shanghai", "zh", clock
    )
    yield client, reports, series
    client.close()


@pytest.fixture(scope="module")
def week(campus: Campus) -> WeeklyUsage:
    return campus[1].weekly("2026-W47")


def _meter(report: WeeklyUsage, device: str) -> MeterUsage:
    return next(m for m in report.meters if m.device == device)


def test_week_is_monday_to_monday_in_site_time(week: WeeklyUsage) -> None:
    assert week.start == "2026-11-16T00:00:00+08:00"
    assert week.end == "2026-11-23T00:00:00+08:00"
    assert week.complete
    assert week.days[0] == "2026-11-16"
    assert week.days[-1] == "2026-11-22"
    # 110-100 (Mon 01:00 local = Sun 17:00 UTC) + 150-110; the 170 is Monday of W48 locally.
    assert _meter(week, "meter-kitchen").consumption == pytest.approx(50.0)


def test_reset_counts_no_negative_use(week: WeeklyUsage) -> None:
    main = _meter(week, "meter-main")
    # 7 days x (10 h x 6 x 1.0 + 14 h x 6 x 0.1) = 478.8, minus the step lost at the reset.
    assert main.consumption == pytest.approx(477.8)
    assert main.previous == pytest.approx(478.8)
    assert main.change_pct == pytest.approx(-0.2)
    assert main.average_4w == pytest.approx(478.8)
    assert main.night_baseline == pytest.approx(0.6)  # 6 x 0.1 each hour 00:00-05:00
    assert main.daily == pytest.approx([68.4, 68.4, 67.4, 68.4, 68.4, 68.4, 68.4])
    assert main.resets == 1
    assert main.name == "总表"
    assert main.unit == "kWh"
    assert main.building == "main"
    assert main.anomalies == ["表计读数回落 1 次（复位或换表），回落不计为负用量"]


def test_replaced_meter(week: WeeklyUsage) -> None:
    water = _meter(week, "water-main")
    assert water.consumption == pytest.approx(34.5)  # 7 x 5 m³, minus the 0.5 at the swap
    assert water.previous == pytest.approx(35.0)
    assert water.night_baseline == 0.0
    assert water.resets == 1
    assert not any("漏水" in a for a in water.anomalies)


def test_gap_is_reported_and_its_use_counted_after(week: WeeklyUsage) -> None:
    gym = _meter(week, "meter-gym")
    assert gym.consumption == pytest.approx(504.0)  # 7 x 24 h x 3 kWh: nothing lost
    assert [(g.start, g.end, g.hours) for g in gym.gaps] == [
        ("2026-11-17T02:00:00+08:00", "2026-11-17T06:00:00+08:00", 4)
    ]
    assert gym.anomalies == [
        "11月17日 02:00 至 11月17日 06:00 无数据（4 小时），这段用量计入恢复后的第一小时"
    ]
    assert gym.night_baseline == pytest.approx(3.0)
    # Per day: peak 10 h x 3 x 1.0 + valley 8 h x 3 x 0.3 + 6 h x 3 x 0.6 = 48.0; on Tuesday the
    # 12 kWh of 02:00-06:00 (valley) arrive at 06:00 (default price): +12 x 0.6 - 12 x 0.3.
    assert gym.cost == pytest.approx(6 * 48.0 + 48.0 + 12 * 0.6 - 12 * 0.3)


def test_leak_night_load_and_jump(week: WeeklyUsage) -> None:
    kitchen = _meter(week, "water-kitchen")
    assert kitchen.consumption == pytest.approx(3.36)  # 168 h x 0.02
    assert kitchen.previous == pytest.approx(1.4)  # 7 x 10 h x 0.02
    assert kitchen.change_pct == pytest.approx(140.0)
    assert kitchen.night_baseline == pytest.approx(0.02)
    text = " | ".join(kitchen.anomalies)
    assert "连续 168 小时用水从未停止（11月16日 00:00 起）：疑似漏水" in text
    assert "比上周增加 140%" in text
    assert "夜间基础用量 0.02 m³/小时，而前 4 周夜间为 0" in text
    assert kitchen.cost == pytest.approx(3.36 * 4.0)


def test_night_base_load_well_above_normal(week: WeeklyUsage) -> None:
    lab = _meter(week, "meter-lab")
    assert lab.night_baseline == pytest.approx(2.0)
    assert lab.consumption == pytest.approx(7 * (10 * 5.0 + 14 * 2.0))
    assert lab.previous == pytest.approx(7 * (10 * 5.0 + 14 * 0.5))
    assert lab.anomalies == [
        "夜间基础用量 2 kWh/小时，是前 4 周平均（0.5）的 4.0 倍：可能有设备未关",
        "比上周增加 37%",  # 546 / 399 - 1 = 36.8 %
    ]


def test_quiet_meter_and_totals(week: WeeklyUsage) -> None:
    annex = _meter(week, "meter-annex")
    assert annex.consumption is None
    assert annex.anomalies == ["本周没有收到读数"]
    assert week.totals["electricity_kwh"] == pytest.approx(477.8 + 50 + 504 + 546)
    assert week.totals["water_m3"] == pytest.approx(34.5 + 3.36)
    assert week.currency == "CNY"
    buildings = {b.building: b for b in week.buildings}
    assert buildings["main"].electricity_kwh == pytest.approx(477.8)
    assert buildings["main"].water_m3 == pytest.approx(34.5)
    assert buildings["canteen"].water_m3 == pytest.approx(3.36)


def test_any_refresh_window_gives_the_same_buckets(
    campus: Campus,
    week: WeeklyUsage,
) -> None:
    """The 5-minute job recomputes odd windows; the buckets must not change."""
    _, reports, _ = campus
    start = int(local("2026-11-17 01:00").timestamp())
    reports.meter_hours.refresh(start, start + 50 * 3600)
    assert reports.weekly("2026-W47") == week


def test_daily_readings(campus: Campus) -> None:
    _, reports, series = campus
    day = reports.daily("2026-11-18")
    main = next(m for m in day.meters if m.device == "meter-main")
    before = [v for t, v in series["meter-main"] if t < local("2026-11-18 00:00")][-1]
    assert main.start_reading == pytest.approx(before)
    assert main.end_reading == pytest.approx(36 * 1.0 + 35 * 0.1)  # from 0 at 12:00 to 23:50
    assert main.consumption == pytest.approx(67.4)
    assert main.readings == 144
    assert main.resets == 1
    annex = next(m for m in day.meters if m.device == "meter-annex")
    assert annex.consumption is None
    assert annex.readings == 0


@pytest.mark.parametrize("text", ["2026-W54", "2026-47", "W47", "2026-W00"])
def test_bad_week_is_refused(
    campus: Campus,
    text: str,
) -> None:
    with pytest.raises(PeriodError, match="week"):
        campus[1].weekly(text)
