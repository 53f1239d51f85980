"""The cold-chain log of 2026-11-23 (Shanghai) on a real InfluxDB, answers by hand."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from campuswatch.protocol import DeviceInfo
from demo.services import InfluxServer
from ingest.config.reports import ClassLimitsConfig, ReportsConfig
from ingest.registry import Registry
from ingest.reports.charts import cold_chain_figure
from ingest.reports.cold_chain import ColdChainReports, Curves, minutes_out_of_range
from ingest.reports.models import ColdChainDay, ColdChainDevice
from ingest.rules.model import Alert
from ingest.rules.store import AlertStore
from ingest.storage.influx import InfluxClient
from tests.clock import ManualClock
from tests.harness import unique
from tests.ingest.reports.data import GATEWAY, SITE, announce, every, local, write

DAY_START, DAY_END = local("2026-11-23 00:00"), local("2026-11-24 00:00")
HALF_MIN = timedelta(seconds=30)


def _fridge(t: datetime) -> float:
    """4.0 °C, 2.1 once at 03:00, 9.4 from 10:00 to 10:12 (24 readings = 12 minutes)."""
    if t == local("2026-11-23 03:00"):
        return 2.1
    if local("2026-11-23 10:00") <= t < local("2026-11-23 10:12"):
        return 9.4
    return 4.0


def _freezer(t: datetime) -> float:
    """-20 °C; -16 at 13:59:30 just before a 2-hour gap; -15 from 20:00 to 20:05."""
    if t == local("2026-11-23 13:59:30"):
        return -16.0
    if local("2026-11-23 20:00") <= t < local("2026-11-23 20:05"):
        return -15.0
    return -20.0


def _write(client: InfluxClient) -> None:
    day = list(every(DAY_START, DAY_END, HALF_MIN))
    fridge = [(t, _fridge(t)) for t in day]
    fridge += [(local("2026-11-23 00:00") - HALF_MIN, 20.0), (DAY_END, 20.0)]  # other days
    write(
        client,
        "temperature",
        "fridge-cold-1",
        "celsius",
        fridge,
        {"class": "refrigerator", "building": "canteen"},
    )
    gap = (local("2026-11-23 14:00"), local("2026-11-23 16:00"))
    freezer = [(t, _freezer(t)) for t in day if not gap[0] <= t < gap[1]]
    write(
        client,
        "temperature",
        "freezer-1",
        "celsius",
        freezer,
        {"class": "freezer", "building": "canteen"},
    )
    office = [(t, 30.0) for t in day]
    write(client, "temperature", "probe-office", "celsius", office, {"building": "main"})


def _alert(store: AlertStore, device: str, fired: datetime) -> None:
    ms = int(fired.timestamp() * 1000)
    alert = Alert(
        rule="fridge-warm",
        site=SITE,
        gateway=GATEWAY,
        device=device,
        kind="temperature",
        severity="critical",
        state="resolved",
        since_ms=ms - 60_000,
        started_ms=ms,
        title="冷藏温度过高",
    )
    with store.transaction():
        store.save_alert(alert)


@pytest.fixture(scope="module")
def day(
    influxd: InfluxServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ColdChainDay, Curves]]:
    client = InfluxClient(influxd.url, unique("cold"))
    client.create_database()
    _write(client)
    state = Path(tmp_path_factory.mktemp("cold"))
    registry = Registry(state / "registry.json", ManualClock(DAY_END.timestamp()))
    announce(
        registry,
        [
            DeviceInfo(
                device="fridge-cold-1",
                kind="temperature",
                name="冷藏柜 1",
                interval_s=30,
                tags={"class": "refrigerator", "building": "canteen"},
            ),
            DeviceInfo(
                device="freezer-1",
                kind="temperature",
                name="冷冻柜",
                interval_s=30,
                tags={"class": "freezer", "building": "canteen"},
            ),
            DeviceInfo(
                device="sample-1",
                kind="temperature",
                name="留样柜",
                interval_s=30,
                tags={"class": "sample_fridge"},
            ),
        ],
    )
    alerts = AlertStore(state / "alerts.db", SITE)
    alerts.open()
    _alert(alerts, "fridge-cold-1", local("2026-11-23 10:15"))
    _alert(alerts, "fridge-cold-1", local("2026-11-22 23:00"))  # the day before
    limits = ReportsConfig().class_limits()
    reports = ColdChainReports(client, registry, alerts, limits, "Asia/Shanghai")
    yield reports.day_with_curves("2026-11-23")
    alerts.close()
    client.close()


@pytest.fixture(scope="module")
def log(day: tuple[ColdChainDay, Curves]) -> ColdChainDay:
    return day[0]


def _device(log: ColdChainDay, device: str) -> ColdChainDevice:
    return next(d for d in log.devices if d.device == device)


def test_refrigerator_day(log: ColdChainDay) -> None:
    fridge = _device(log, "fridge-cold-1")
    assert fridge.class_ == "refrigerator"
    assert fridge.limits == (0.0, 8.0)
    assert fridge.min == 2.1
    assert fridge.max == 9.4  # the 20 °C readings of the neighbouring days are left out
    assert fridge.readings == 2880
    assert fridge.mean == pytest.approx(round((24 * 9.4 + 2.1 + 2855 * 4.0) / 2880, 2))
    assert fridge.minutes_out_of_range == 12
    assert fridge.alerts == 1
    assert fridge.name == "冷藏柜 1"


def test_freezer_gap_is_not_counted_as_out_of_range(log: ColdChainDay) -> None:
    freezer = _device(log, "freezer-1")
    assert freezer.limits == (None, -18.0)
    # 5 minutes at -15, plus the -16 before the gap held for at most 2 intervals (1 minute).
    assert freezer.minutes_out_of_range == 6
    assert freezer.max == -15.0
    assert freezer.alerts == 0


def test_silent_and_unclassed_devices(log: ColdChainDay) -> None:
    sample = _device(log, "sample-1")
    assert sample.readings == 0
    assert sample.min is None
    assert sample.minutes_out_of_range == 0
    assert "probe-office" not in {d.device for d in log.devices}
    assert log.model_dump()["devices"][0]["class"]  # SPEC §7 key


def test_minutes_out_of_range_rounds_and_caps() -> None:
    limits = ClassLimitsConfig(min=0, max=8)
    points = [(0, 9.0), (90_000, 5.0), (120_000, -1.0)]  # 90 s out, 30 s in, then -1 to the end
    assert minutes_out_of_range(points, limits, hold_ms=60_000, end_ms=600_000) == 2  # 60 + 60 s
    assert minutes_out_of_range(points, limits, hold_ms=600_000, end_ms=600_000) == 10  # 90+480 s


def test_class_limits_are_configurable() -> None:
    settings = ReportsConfig.model_validate(
        {"classes": {"refrigerator": {"min": 1, "max": 5}, "wine": {"min": 10, "max": 14}}}
    )
    limits = settings.class_limits()
    assert (limits["refrigerator"].min, limits["refrigerator"].max) == (1, 5)
    assert limits["freezer"].max == -18  # the defaults stay
    assert limits["wine"].max == 14


def test_a_short_excursion_is_drawn_and_the_axis_holds_every_reading(
    day: tuple[ColdChainDay, Curves],
) -> None:
    """The freezer's -16 °C at 13:59:30 is one reading in ten of its 5-minute interval: the
    mean (-19.6) stays below the -18 °C limit, the drawn band and the red dot do not."""
    log, curves = day
    figure = cold_chain_figure(log, curves, "冷链", {"freezer": "冷冻", "refrigerator": "冷藏"})
    freezer = next(ax for ax in figure.axes if ax.get_title().endswith("冷冻"))
    [line] = [line for line in freezer.lines if line.get_label() == "冷冻柜"]
    interval = list(line.get_xdata()).index(pytest.approx(13 + 55 / 60))
    assert line.get_ydata()[interval] == pytest.approx(-19.6)  # the mean alone hides it
    band = freezer.collections[0].get_paths()[0].vertices
    assert band[:, 1].max() == pytest.approx(-15.0)
    near = band[(band[:, 0] > 13.9) & (band[:, 0] < 14.0)]
    assert near[:, 1].max() == pytest.approx(-16.0)
    dots = freezer.collections[1].get_offsets()
    assert [13 + 59.5 / 60, -16.0] in [pytest.approx(list(d)) for d in dots]
    assert len(dots) == 1 + 10  # the -16 and the ten -15 readings of 20:00-20:05
    low, high = freezer.get_ylim()
    assert low < -20.0
    assert high > -15.0
    fridge = next(ax for ax in figure.axes if ax.get_title().endswith("冷藏"))
    assert fridge.get_ylim()[0] < 0.0
    assert fridge.get_ylim()[1] > 9.4
    assert fridge.yaxis.get_major_formatter()(-0.0, 0) == "0"
