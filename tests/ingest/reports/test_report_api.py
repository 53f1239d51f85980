"""Report endpoints and the CLI, fed through the real pipeline (MQTT → ingest → InfluxDB)."""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
import warnings
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from fastapi.testclient import TestClient

from ingest.app import IngestService
from ingest.config import IngestConfig
from ingest.reports.charts import cjk_font
from ingest.reports.periods import week_of
from ingest.web.app import create_api
from tests.harness import Publisher, count_points, envelope, reading, wait_for
from tests.ingest.reports.data import TZ

VIEWER = {"Authorization": "Bearer viewer-token-1"}
MINUTE_MS = 60_000


@pytest.fixture
def config(config: dict[str, Any]) -> dict[str, Any]:
    """The shared test config with the campus's place names (SPEC §4)."""
    return {**config, "places": {"main": "教学楼", "canteen": "食堂"}}


@pytest.fixture
def fed(
    service: IngestService, publisher: Publisher, config: dict[str, Any]
) -> Iterator[tuple[TestClient, float]]:
    """A service that received a meter's last 90 minutes and a fridge's last 30."""
    root = config["mqtt"]["topic_root"]
    meta = {
        "v": 1,
        "gateway": "gw-canteen",
        "devices": [
            {
                "device": "meter-main",
                "kind": "electricity",
                "name": "总表",
                "interval_s": 60,
                "tags": {"building": "main"},
            },
            {
                "device": "fridge-cold-1",
                "kind": "temperature",
                "name": "冷藏柜 1",
                "interval_s": 30,
                "tags": {"building": "canteen", "class": "refrigerator"},
            },
        ],
    }
    publisher.publish(f"{root}/sunshine-kg/gw-canteen/meta", orjson.dumps(meta), retain=True)
    now_ms = int(service.clock.time() * 1000) // MINUTE_MS * MINUTE_MS
    meter = [
        reading("meter-main", "electricity", now_ms - i * MINUTE_MS, energy_kwh=100 - i * 0.1)
        for i in range(90)
    ]
    fridge = [
        reading("fridge-cold-1", "temperature", now_ms - i * 30_000, celsius=9.4 if i == 5 else 4.0)
        for i in range(60)
    ]
    publisher.publish(f"{root}/sunshine-kg/gw-canteen/readings", envelope("gw-canteen", 1, meter))
    publisher.publish(f"{root}/sunshine-kg/gw-canteen/readings", envelope("gw-canteen", 2, fridge))
    wait_for(lambda: count_points(service.influx, "electricity", "energy_kwh") == 90, 20)
    wait_for(lambda: count_points(service.influx, "temperature", "celsius") == 60, 20)
    wait_for(lambda: service.registry.device_info("sunshine-kg", "gw-canteen", "meter-main"), 10)
    week_start = week_of(datetime.now(TZ).date(), TZ).start_s * 1000
    increments = sum(1 for i in range(89) if now_ms - i * MINUTE_MS >= week_start)
    with TestClient(create_api(service)) as client:
        yield client, round(increments * 0.1, 6)


def _this_week() -> str:
    return week_of(datetime.now(TZ).date(), TZ).label


def _today() -> str:
    return datetime.now(TZ).date().isoformat()


def test_weekly_usage_json_csv_html(fed: tuple[TestClient, float]) -> None:
    api, expected = fed
    week = _this_week()
    doc = api.get("/api/reports/weekly-usage", params={"week": week}, headers=VIEWER).json()
    assert doc["week"] == week
    assert doc["complete"] is False
    main = next(m for m in doc["meters"] if m["device"] == "meter-main")
    assert main["name"] == "总表"
    assert main["unit"] == "kWh"
    assert main["consumption"] == pytest.approx(expected)
    assert set(main) >= {
        "device",
        "kind",
        "name",
        "unit",
        "consumption",
        "previous",
        "change_pct",
        "night_baseline",
        "anomalies",
    }
    assert doc["totals"]["electricity_kwh"] == pytest.approx(expected)

    csv = api.get(
        "/api/reports/weekly-usage", params={"week": week, "format": "csv"}, headers=VIEWER
    )
    assert csv.headers["content-type"].startswith("text/csv")
    assert "本周用量" in csv.text
    assert "总表" in csv.text

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        page = api.get(
            "/api/reports/weekly-usage", params={"week": week, "format": "html"}, headers=VIEWER
        )
    assert not [w for w in caught if "missing from font" in str(w.message)], "Chinese glyphs"
    assert page.headers["content-type"].startswith("text/html")
    # The page a report message links to reads as the console's: places and kinds in
    # words, the week the Chinese way, each cell labelled for a phone's stacked table.
    assert "总表（电表）" in page.text
    assert '<td data-label="位置">教学楼</td>' in page.text
    assert re.search(r"<h1>一周一反馈 \d{4}年第\d+周（\d+月\d+日–(\d+月)?\d+日）</h1>", page.text)
    assert ">main<" not in page.text
    assert "electricity" not in page.text
    png = base64.b64decode(re.search(r"data:image/png;base64,([^\"]+)", page.text)[1])  # type: ignore[index]
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(png) > 10_000


def test_cold_chain_and_daily_readings(fed: tuple[TestClient, float]) -> None:
    api, _ = fed
    day = _today()
    if datetime.now(TZ).hour == 0 and datetime.now(TZ).minute < 31:
        pytest.skip("the readings of the last 30 minutes span two days")
    cold = api.get("/api/reports/cold-chain", params={"date": day}, headers=VIEWER).json()
    fridge = next(d for d in cold["devices"] if d["device"] == "fridge-cold-1")
    assert fridge["class"] == "refrigerator"
    assert fridge["limits"] == [0.0, 8.0]
    assert fridge["max"] == 9.4
    assert fridge["minutes_out_of_range"] == 1  # one reading held for its 30 s interval
    page = api.get(
        "/api/reports/cold-chain", params={"date": day, "format": "html"}, headers=VIEWER
    )
    assert "冷藏柜 1（冷藏柜）" in page.text
    assert '<td data-label="位置">食堂</td>' in page.text
    assert "refrigerator" not in page.text
    daily = api.get(
        "/api/reports/daily-readings", params={"date": day, "format": "csv"}, headers=VIEWER
    )
    assert "总表" in daily.text


@pytest.mark.parametrize(
    ("params", "headers", "status", "text"),
    [
        ({"week": "2026-W99"}, VIEWER, 422, "does not exist"),
        ({"week": "47"}, VIEWER, 422, "YYYY-Www"),
        ({"format": "xml"}, VIEWER, 422, "json"),
        ({}, {}, 401, "bearer"),
        ({"week": "2026-W47", "format": "html", "sig": "forged"}, {}, 401, "bearer"),
    ],
)
def test_bad_requests(
    service: IngestService, params: dict[str, str], headers: dict[str, str], status: int, text: str
) -> None:
    with TestClient(create_api(service)) as api:
        answer = api.get("/api/reports/weekly-usage", params=params, headers=headers)
    assert answer.status_code == status
    assert text in answer.text


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("weekly-usage", {"week": "0001-W01"}),
        ("weekly-usage", {"week": "9999-W01"}),
        ("cold-chain", {"date": "9999-12-31"}),
        ("daily-readings", {"date": "0001-01-01"}),
    ],
)
def test_periods_out_of_range_are_refused_with_422(
    service: IngestService, path: str, params: dict[str, str]
) -> None:
    with TestClient(create_api(service)) as api:
        answer = api.get(f"/api/reports/{path}", params=params, headers=VIEWER)
    assert answer.status_code == 422
    assert "outside the years reports cover (2020-2099)" in answer.text


def test_a_database_error_is_not_echoed(config: dict[str, Any]) -> None:
    config["influx"]["url"] = "http://127.0.0.1:9"  # nobody listens: the database is down
    down = IngestService(IngestConfig.model_validate(config))
    down.links.open()
    with TestClient(create_api(down)) as api:
        answer = api.get("/api/reports/weekly-usage", params={"week": "2026-W47"}, headers=VIEWER)
    assert answer.status_code == 503
    assert answer.json() == {"detail": "the database cannot answer now: try later"}


def test_chart_font_covers_chinese() -> None:
    assert cjk_font() is not None, "install fonts-wqy-microhei (make setup does)"


def test_cli_prints_the_report(
    fed: tuple[TestClient, float], service: IngestService, config: dict[str, Any], tmp_path: Path
) -> None:
    service.registry.save()
    path = tmp_path / "ingest.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True))
    cli = [sys.executable, "-m", "ingest.cli", "report", "weekly-usage", "--config", str(path)]
    table = subprocess.run(
        [*cli, "--week", _this_week()],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert table.returncode == 0, table.stderr
    assert "总表" in table.stdout
    assert "一周一反馈" in table.stdout
    csv = subprocess.run(
        [*cli, "--week", _this_week(), "--format", "csv"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert csv.returncode == 0, csv.stderr
    assert csv.stdout.lstrip("\ufeff").startswith("设备,名称")
    bad = subprocess.run([*cli, "--week", "2026-W60"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2
    assert "2026-W60" in bad.stderr
