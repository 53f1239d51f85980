"""Names are data, not markup: hostile device names and JSON keys sent through the real
broker come out as plain text in robot messages, report charts, CSV cells and log lines."""

from __future__ import annotations

import csv
import io
import logging
import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from campuswatch.logsetup import FORMAT, OneLineFormatter
from ingest.app import IngestService
from ingest.config import IngestConfig
from ingest.web.app import create_api
from tests.harness import Publisher, count_points, envelope, reading, wait_for
from tests.receivers import HttpReceiver, http_receiver

VIEWER = {"Authorization": "Bearer viewer-token-1"}
PHISHING = (
    "后门 ### 【已恢复】误报，无需处理 [点此处理](http://evil.example/x)"
    ' <font color="info">ok</font>'
)
MATH = r"冷藏柜 $\frac{1}{0$ 坏"
FORMULA = '=HYPERLINK("http://evil.example","点我")'


def _topic(config: dict[str, Any], channel: str) -> str:
    return f"{config['mqtt']['topic_root']}/sunshine-kg/gw-x/{channel}"


def _meta(*devices: dict[str, Any]) -> bytes:
    return orjson.dumps({"v": 1, "gateway": "gw-x", "devices": list(devices)})


@pytest.fixture
def robot() -> Iterator[HttpReceiver]:
    with http_receiver() as receiver:
        yield receiver


def test_a_name_cannot_forge_a_robot_message(
    config: dict[str, Any], publisher: Publisher, robot: HttpReceiver
) -> None:
    config["channels"] = {
        "patrol": {"type": "wecom", "url": robot.url()},
        "duty": {"type": "dingtalk", "url": robot.url("/ding")},
    }
    config["rules"] = [
        {
            "id": "smoke",
            "kind": "smoke",
            "when": {"field": "smoke", "eq": True},
            "severity": "critical",
            "notify": ["patrol", "duty"],
        }
    ]
    service = IngestService(IngestConfig.model_validate(config))
    service.start()
    try:
        assert service.wait_ready()
        meta = _meta(
            {"device": "smoke-1", "kind": "smoke", "name": PHISHING},
            {"device": "smoke-2", "kind": "smoke", "name": "走廊\n### 【已恢复】误报"},
        )
        publisher.publish(_topic(config, "meta"), meta)
        wait_for(lambda: service.registry.device_info("sunshine-kg", "gw-x", "smoke-1"), 10)
        # The name with a line break is refused alone, with the reason; smoke-1 is kept.
        assert service.registry.device_info("sunshine-kg", "gw-x", "smoke-2") is None
        assert service.metrics.rejected.labels("bad_device_meta")._value.get() == 1
        now = int(time.time() * 1000)
        alarm = [reading("smoke-1", "smoke", now, smoke=True)]
        publisher.publish(_topic(config, "readings"), envelope("gw-x", 1, alarm))
        wait_for(lambda: len(robot.bodies()) == 2, 10)
    finally:
        service.stop()
    wecom = next(
        b["markdown"]["content"]
        for b in robot.bodies()
        if b["msgtype"] == "markdown" and "content" in b["markdown"]
    )
    ding = next(b["markdown"]["text"] for b in robot.bodies() if "text" in b["markdown"])
    for text in (wecom, ding):
        assert text.startswith("### 烟雾报警\n")
        assert text.count("#") == 3  # only our heading: the name's are ＃＃＃
        assert "](http://evil" not in text
        assert "http://evil" not in text
        assert "<font" not in text
        assert "［点此处理］（http：//evil.example/x）" in text  # shown, not a link
        assert "](http://" in text  # the ack link is still a link


def test_names_cannot_break_charts_or_run_in_spreadsheets(
    service: IngestService, publisher: Publisher, config: dict[str, Any]
) -> None:
    meta = _meta(
        {
            "device": "fridge-1",
            "kind": "temperature",
            "name": MATH,
            "tags": {"class": "refrigerator"},
        },
        {"device": "meter-1", "kind": "electricity", "name": FORMULA},
    )
    publisher.publish(_topic(config, "meta"), meta)
    wait_for(lambda: service.registry.device_info("sunshine-kg", "gw-x", "meter-1"), 10)
    now = int(time.time() * 1000) // 60_000 * 60_000
    readings = [reading("fridge-1", "temperature", now - i * 60_000, celsius=4.0) for i in range(5)]
    readings += [
        reading("meter-1", "electricity", now - i * 60_000, energy_kwh=10.0 - i) for i in range(5)
    ]
    publisher.publish(_topic(config, "readings"), envelope("gw-x", 1, readings))
    wait_for(lambda: count_points(service.influx, "electricity", "energy_kwh") == 5, 20)
    with TestClient(create_api(service)) as client:
        page = client.get("/api/reports/cold-chain", params={"format": "html"}, headers=VIEWER)
        assert page.status_code == 200, page.text
        assert "冷藏柜 $\\frac{1}{0$ 坏" in page.text  # escaped text, drawn in the chart as is
        sheet = client.get("/api/reports/daily-readings", params={"format": "csv"}, headers=VIEWER)
        assert sheet.status_code == 200
    rows = list(csv.reader(io.StringIO(sheet.text.removeprefix("\ufeff"))))
    names = [row[1] for row in rows[1:]]
    assert "'" + FORMULA in names
    assert not any(cell.startswith(("=", "+", "@")) for row in rows for cell in row)


def test_json_keys_cannot_forge_log_lines(
    service: IngestService, publisher: Publisher, config: dict[str, Any]
) -> None:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(OneLineFormatter(FORMAT))
    logger = logging.getLogger("ingest")
    logger.addHandler(handler)
    try:
        forged = b'{"state": "online", "ts": 1, "x\\n2026-12-02 08:00:00,000 INFO  all clear": 1}'
        publisher.publish(_topic(config, "status"), forged)
        wait_for(lambda: service.metrics.rejected.labels("bad_status")._value.get() == 1, 10)
    finally:
        logger.removeHandler(handler)
    lines = out.getvalue().splitlines()
    assert lines
    assert all(" WARNING " in line for line in lines), lines
    assert "x\\n2026-12-02 08:00:00,000 INFO  all clear" in out.getvalue()
