"""The dashboards: structure, committed JSON, provisioning, and every query against a real
influxd filled through the real ingest by a simulated campus (a day, with alerts)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from dashboards.build import DASHBOARDS, stale_files
from dashboards.model import DATASOURCE_UID, GRID_WIDTH, Dashboard, Panel, Target
from demo.services import InfluxServer, MosquittoServer
from ingest.app import IngestService
from ingest.config import IngestConfig
from ingest.storage.influx import InfluxClient
from tests.dashboards import campus, grafana
from tests.harness import Publisher, config_dict, count_points, wait_for

PROVISIONING = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "provisioning"
RENDERED = {d.uid: d.render() for d in DASHBOARDS}


def test_committed_json_is_what_the_code_renders() -> None:
    assert stale_files() == [], "run make dashboards"


@pytest.mark.parametrize("uid", RENDERED)
def test_structure(uid: str) -> None:
    board = RENDERED[uid]
    assert board["uid"] == uid
    assert board["version"] >= 1
    assert re.search(r"[\u4e00-\u9fff]", board["title"])  # a Chinese title ...
    assert re.search(r"[A-Za-z]{4}", board["description"])  # ... and an English description
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    cells: set[tuple[int, int]] = set()
    for panel in board["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= GRID_WIDTH
        mine = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not mine & cells, f"{panel['title']} overlaps another panel"
        cells |= mine
        sources = [panel["datasource"], *(t["datasource"] for t in panel["targets"])]
        assert all(s["uid"] == DATASOURCE_UID for s in sources)
        assert panel["description"]
    for variable in board["templating"]["list"]:
        assert variable["type"] == "constant" or variable["datasource"]["uid"] == DATASOURCE_UID


def test_patrol_refreshes_every_10_seconds() -> None:
    assert RENDERED["campus-night-patrol"]["refresh"] == "10s"


def test_provisioning_points_at_the_datasource_and_the_json() -> None:
    sources = yaml.safe_load((PROVISIONING / "datasources" / "campuswatch.yaml").read_text())
    [source] = sources["datasources"]
    assert (source["uid"], source["type"]) == (DATASOURCE_UID, "influxdb")
    assert source["jsonData"]["version"] == "InfluxQL"
    providers = yaml.safe_load((PROVISIONING / "dashboards" / "campuswatch.yaml").read_text())
    assert providers["providers"][0]["type"] == "file"
    assert providers["providers"][0]["options"]["path"].endswith("dashboards/json")


@pytest.fixture(scope="module")
def filled(
    tmp_path_factory: pytest.TempPathFactory, broker: MosquittoServer, influxd: InfluxServer
) -> Iterator[InfluxClient]:
    """influxd with a simulated campus's history and its alerts, through the real ingest."""
    state = tmp_path_factory.mktemp("dashboards")
    config = config_dict(
        state, broker, influxd, rules=campus.RULES, channels={"patrol": {"type": "log"}}
    )
    service = IngestService(IngestConfig.model_validate(config))
    service.start()
    assert service.wait_ready()
    db = InfluxClient(influxd.url, config["influx"]["database"])
    publisher = Publisher(broker.port)
    try:
        sent = campus.send_campus(publisher, config["mqtt"]["topic_root"], service)
        wait_for(lambda: count_points(db, "alert_event", "alert_id") >= 2, 60)
        wait_for(lambda: count_points(db, "camera", "motion") > 700, 30)
        # The history arrives as a backlog: its rollups follow within a minute of storing.
        stored = service.metrics.readings_stored
        wait_for(lambda: stored._value.get() >= sent and service.spool.pending_bytes() == 0, 60)
        wait_for(lambda: service.dirty.waiting() == 0, 120)
        yield db
    finally:
        publisher.close()
        service.stop()
        db.close()


CASES = [
    pytest.param(board, panel, target, id=f"{board.uid}:{panel.title}:{i}")
    for board in DASHBOARDS
    for panel in board.panels
    for i, target in enumerate(panel.targets)
]


@pytest.mark.parametrize(("board", "panel", "target"), CASES)
def test_every_panel_query_returns_its_columns(
    filled: InfluxClient, board: Dashboard, panel: Panel, target: Target
) -> None:
    title, span = panel.title, panel.time_from or board.time_from
    start, end = grafana.time_range(span, datetime.now(UTC), campus.TZ)
    variables = {"site": campus.SITE, "building": ".*", "tz": "Asia/Shanghai"}
    query = grafana.substitute(
        target.query, start, end, variables, panel.min_interval, panel.max_data_points
    )
    rows: list[dict[str, Any]] = filled.query(query)
    assert rows, f"{title}: no data for {target.query}"
    missing = [c for c in target.columns if all(row.get(c) is None for row in rows)]
    assert not missing, f"{title}: no values in {missing}"


def test_template_variables_list_the_campus(filled: InfluxClient) -> None:
    queries = {v.name: v.query for v in DASHBOARDS[0].variables if v.query}
    sites = filled.query(queries["site"])
    assert {r["value"] for r in sites} == {campus.SITE}
    buildings = filled.query(queries["building"].replace("$site", campus.SITE))
    assert {r["value"] for r in buildings} >= {"gate", "canteen", "main"}


def test_a_building_filter_narrows_the_doors(filled: InfluxClient) -> None:
    doors_now = DASHBOARDS[0].panels[0].targets[0]
    start, end = grafana.time_range("1h", datetime.now(UTC), campus.TZ)
    variables = {"site": campus.SITE, "building": "canteen", "tz": ""}
    rows = filled.query(grafana.substitute(doors_now.query, start, end, variables))
    assert {r["device"] for r in rows} == {"door-kitchen-back"}
