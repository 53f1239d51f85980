"""The HTTP API: health, devices, roles and metrics."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from ingest.app import IngestService
from ingest.web.app import create_api
from tests.harness import Publisher, envelope, reading, wait_for

VIEWER = {"Authorization": "Bearer viewer-token-1"}


@pytest.fixture
def api(service: IngestService) -> Iterator[TestClient]:
    """The API of a running in-process service."""
    with TestClient(create_api(service)) as client:
        yield client


def test_health_needs_no_token_and_reports_both_dependencies(api: TestClient) -> None:
    wait_for(lambda: api.get("/api/health").json()["status"] == "ok", 10)
    body = api.get("/api/health").json()
    assert body["mqtt"] is True
    assert body["influx"] is True


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer wrong-token"}, 401),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, 401),
        (VIEWER, 200),
        ({"Authorization": "Bearer guard-token-1"}, 200),
        ({"Authorization": "Bearer admin-token-1"}, 200),
    ],
)
def test_devices_requires_a_viewer_token(
    api: TestClient, headers: dict[str, str], status: int
) -> None:
    assert api.get("/api/devices", headers=headers).status_code == status


def test_devices_lists_meta_only_devices_and_live_values(
    api: TestClient, service: IngestService, publisher: Publisher, config: dict[str, Any]
) -> None:
    root = config["mqtt"]["topic_root"]
    now_ms = int(service.clock.time() * 1000)
    meta = orjson.dumps(
        {
            "v": 1,
            "gateway": "gw-canteen",
            "devices": [
                {
                    "device": "fridge-cold-1",
                    "kind": "temperature",
                    "name": "冷藏柜 1",
                    "interval_s": 30,
                    "tags": {"class": "refrigerator", "building": "canteen"},
                },
                {"device": "freezer-1", "kind": "temperature", "name": "冷冻柜 1"},
            ],
        }
    )
    publisher.publish(f"{root}/sunshine-kg/gw-canteen/meta", meta, retain=True)
    publisher.publish(
        f"{root}/sunshine-kg/gw-canteen/status",
        orjson.dumps({"state": "online", "ts": now_ms, "version": "1"}),
        retain=True,
    )
    publisher.publish(
        f"{root}/sunshine-kg/gw-canteen/readings",
        envelope(
            "gw-canteen",
            1,
            [reading("fridge-cold-1", "temperature", now_ms, celsius=4.5, humidity=60)],
        ),
    )

    def devices() -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = api.get("/api/devices", headers=VIEWER).json()
        return rows if len(rows) == 2 and any(r["last_seen"] for r in rows) else []

    fridge, freezer = sorted(wait_for(devices, 10), key=lambda r: r["device"], reverse=True)
    assert fridge["name"] == "冷藏柜 1"
    assert fridge["tags"] == {"class": "refrigerator", "building": "canteen"}
    assert fridge["values"] == {"celsius": 4.5, "humidity": 60}
    assert fridge["online"] is True
    assert fridge["last_seen"].endswith("+08:00")
    assert freezer["last_seen"] is None
    assert freezer["online"] is False

    publisher.publish(
        f"{root}/sunshine-kg/gw-canteen/status",
        orjson.dumps({"state": "offline", "ts": now_ms}),
        retain=True,
    )
    wait_for(
        lambda: not any(r["online"] for r in api.get("/api/devices", headers=VIEWER).json()), 10
    )


def test_metrics_are_served_for_a_token_only(api: TestClient) -> None:
    assert api.get("/metrics").status_code == 401  # they name every gateway and device
    response = api.get("/metrics", headers=VIEWER)
    assert response.status_code == 200
    assert "campus_readings_stored_total" in response.text
    assert "/docs" in api.get("/docs").text or api.get("/openapi.json").status_code == 200
