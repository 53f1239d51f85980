"""Sub-meters: a parent water meter with two children, on a real InfluxDB.

In week 2026-W47 the main meter counts 1.0 m³ an hour, the kitchen's 0.4 and the
teaching building's 0.3: the totals count the main meter only (168 m³), and 0.3 m³ an
hour (30 %) is nobody's, which the report shows as a loss hint.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from campuswatch.protocol import DeviceInfo
from demo.services import InfluxServer
from ingest.config.places import Places
from ingest.config.reports import ReportsConfig
from ingest.registry import Registry
from ingest.reports import render
from ingest.reports.meters import MeterStore
from ingest.reports.models import MeterUsage, WeeklyUsage
from ingest.reports.pages import weekly_page
from ingest.reports.usage import UsageReports, sub_meters, top_level
from ingest.storage.influx import InfluxClient
from ingest.storage.meter_hours import MeterHours
from tests.clock import ManualClock
from tests.harness import unique
from tests.ingest.reports.data import announce, counter, every, local, write

START, END = local("2026-11-15 23:00"), local("2026-11-23 00:00")
PER_HOUR = {"water-main": 1.0, "water-kitchen": 0.4, "water-teaching": 0.3, "water-lone": 0.2}


def _info(device: str, building: str, parent: str | None = None) -> DeviceInfo:
    tags = {"building": building} | ({"parent": parent} if parent else {})
    return DeviceInfo(device=device, kind="water", name=device, interval_s=3600, tags=tags)


@pytest.fixture(scope="module")
def week(influxd: InfluxServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WeeklyUsage]:
    client = InfluxClient(influxd.url, unique("submeters"))
    client.create_database()
    hours = list(every(START, END, timedelta(hours=1)))
    for device, use in PER_HOUR.items():
        write(client, "water", device, "volume_m3", counter(iter(hours), lambda _t, u=use: u))
    clock = ManualClock(local("2026-11-25 09:00").timestamp())
    registry = Registry(Path(tmp_path_factory.mktemp("reg")) / "registry.json", clock)
    announce(
        registry,
        [
            _info("water-main", "main"),
            _info("water-kitchen", "canteen", parent="water-main"),
            _info("water-teaching", "teaching", parent="water-main"),
            _info("water-lone", "gym", parent="no-such-meter"),  # a typo: counted as top-level
        ],
    )
    meter_hours = MeterHours(client, "Asia/Shanghai")
    meter_hours.refresh(int(START.timestamp()), int(END.timestamp()))
    reports = UsageReports(
        MeterStore(client, registry), meter_hours, ReportsConfig(), "Asia/Shanghai", "zh", clock
    )
    yield reports.weekly("2026-W47")
    client.close()


def test_the_parent_shows_its_children_and_the_unmetered_rest(week: WeeklyUsage) -> None:
    meters = {m.device: m for m in week.meters}
    main = meters["water-main"]
    assert main.consumption == pytest.approx(168.0)
    assert main.sub_meters == pytest.approx(0.7 * 168)
    assert main.unmetered == pytest.approx(0.3 * 168)
    assert any("未计量 50.4 m³（30%）" in a for a in main.anomalies)
    assert meters["water-kitchen"].parent == "water-main"
    assert meters["water-kitchen"].consumption == pytest.approx(0.4 * 168)


def test_totals_count_top_level_meters_only(week: WeeklyUsage) -> None:
    assert week.totals["water_m3"] == pytest.approx(168.0 + 0.2 * 168)
    buildings = {b.building: b.water_m3 for b in week.buildings}
    assert buildings["main"] == pytest.approx(168.0)
    assert buildings["gym"] == pytest.approx(0.2 * 168)
    assert "canteen" not in buildings  # its only meter is behind the main one: counted there


def test_the_table_has_the_parent_and_the_rest(week: WeeklyUsage) -> None:
    columns = render.WEEKLY_COLUMNS["zh"]
    rows = {row[0]: dict(zip(columns, row, strict=True)) for row in render.weekly_rows(week)}
    assert rows["water-kitchen"]["上级表"] == "water-main"
    assert rows["water-main"]["未计量"] == pytest.approx(50.4)


def _usage(device: str, consumption: float | None, parent: str | None = None) -> MeterUsage:
    return MeterUsage(
        device=device,
        kind="water",
        name=device,
        unit="m³",
        building=None,
        consumption=consumption,
        previous=None,
        change_pct=None,
        average_4w=None,
        night_baseline=None,
        daily=[None] * 7,
        parent=parent,
    )


def _devices(meters: list[MeterUsage]) -> list[str]:
    return [m.device for m in meters]


def test_a_parent_that_sent_nothing_leaves_its_children_in_the_totals() -> None:
    meters = [_usage("main", None), _usage("kitchen", 5.0, "main"), _usage("tap", 1.0, "kitchen")]
    assert _devices(top_level(meters)) == ["main", "kitchen"]  # the tap is inside the kitchen


def test_a_loop_of_parents_counts_both_and_a_silent_child_gives_no_rest() -> None:
    loop = [_usage("a", 2.0, "b"), _usage("b", 3.0, "a")]
    assert _devices(top_level(loop)) == ["a", "b"]
    assert sub_meters(loop) == []
    reports = UsageReports.__new__(UsageReports)
    reports.lang = "zh"
    family = [_usage("main", 10.0), _usage("kitchen", 4.0, "main"), _usage("gym", None, "main")]
    reports._sub_meters(family)
    assert family[0].sub_meters == 4.0
    assert family[0].unmetered is None  # the gym sent nothing: the rest is unknown
    assert family[0].anomalies == []


def test_a_meter_behind_a_loop_keeps_its_parent() -> None:
    meters = [_usage("m", 1.0, "a"), _usage("a", 2.0, "b"), _usage("b", 3.0, "a")]
    assert _devices(top_level(meters)) == ["a", "b"]  # m is inside a, whatever a's loop is
    assert [(p.device, _devices(c)) for p, c in sub_meters(meters)] == [("a", ["m"])]


def _hints(family: list[MeterUsage], before: list[list[float | None]] | None = None) -> list[str]:
    """The parent's hints; ``before``: each meter's use in the weeks before (in order)."""
    reports = UsageReports.__new__(UsageReports)
    reports.lang = "zh"
    weeks = {id(m): b for m, b in zip(family, before or [], strict=False)}
    reports._sub_meters(family, weeks)
    return family[0].anomalies


def test_an_unmetered_building_is_no_news_every_week() -> None:
    # A main meter with the canteen behind it: the teaching building (about 40 %) has no
    # sub-meter. The weeks before had the same share: no hint.
    family = [_usage("main", 100.0), _usage("canteen", 60.0, "main")]
    assert _hints(family, [[95.0, 100.0], [58.0, 61.0]]) == []


def test_a_rise_in_the_unmetered_share_is_a_hint_until_it_is_gone() -> None:
    # A leak from two weeks ago is not taken for usual: the lowest share of the weeks
    # before is (39 %), not their mean.
    family = [_usage("main", 100.0), _usage("canteen", 40.0, "main")]
    hints = _hints(family, [[100.0, 95.0, None], [40.0, 58.0, 60.0]])
    assert hints == ["未计量 60 m³（60%），前 4 周最少时 39%：可能有漏损或新增的用户"]


def test_without_weeks_before_a_large_rest_is_a_hint() -> None:
    assert _hints([_usage("main", 100.0), _usage("canteen", 60.0, "main")]) == [
        "分表合计 60 m³，未计量 40 m³（40%）：可能有漏损或未装分表的用户"
    ]
    # A child with no weeks before (new): nothing usual is known either.
    hints = _hints([_usage("main", 100.0), _usage("canteen", 60.0, "main")], [[95.0], [None]])
    assert hints == ["分表合计 60 m³，未计量 40 m³（40%）：可能有漏损或未装分表的用户"]


def test_children_above_their_parent_are_a_hint_whatever_the_weeks_before() -> None:
    hints = _hints([_usage("main", 50.0), _usage("canteen", 60.0, "main")], [[95.0], [58.0]])
    assert hints == ["分表合计 60 m³ 超过总表 50 m³：请检查表计与 parent 标签"]


def test_the_page_lists_each_meter_before_the_meters_behind_it(week: WeeklyUsage) -> None:
    assert week.meters[0].device != "water-main"  # the report orders them otherwise
    page = weekly_page(week, Places({"canteen": "食堂"}), "zh", {})
    meters = [row[0].split("（")[0] for row in page.rows]
    assert meters.index("water-main") + 1 == meters.index("water-kitchen")
    assert meters.index("water-kitchen") + 1 == meters.index("water-teaching")
    kitchen = next(row for row in page.rows if row[0].startswith("water-kitchen"))
    assert kitchen[1] == "食堂"
    assert kitchen[-1] == "water-main"  # no name: its id


def test_the_page_keeps_sites_kinds_and_loops_apart() -> None:
    # Ordered as the totals count: a parent of another site or kind, a loop or itself
    # leaves a meter top-level, where it was.
    meters = [
        _usage("main", 10.0).model_copy(update={"site": "a"}),
        _usage("loop-a", 1.0, "loop-b"),
        _usage("loop-b", 1.0, "loop-a"),
        _usage("self", 1.0, "self"),
        _usage("main", 20.0).model_copy(update={"site": "b"}),
        _usage("kitchen", 5.0, "main").model_copy(update={"site": "b"}),
    ]
    page = weekly_page(_week(meters), Places(), "zh", {})
    rows = [(row[0].split("（")[0], row[2]) for row in page.rows]
    assert rows == [
        ("main", "10.0 m³"),
        ("loop-a", "1.0 m³"),
        ("loop-b", "1.0 m³"),
        ("self", "1.0 m³"),
        ("main", "20.0 m³"),
        ("kitchen", "5.0 m³"),
    ]


def _week(meters: list[MeterUsage]) -> WeeklyUsage:
    return WeeklyUsage(
        week="2026-W47",
        start="2026-11-16T00:00:00+08:00",
        end="2026-11-23T00:00:00+08:00",
        complete=True,
        days=[],
        buildings=[],
        meters=meters,
        totals={},
    )
