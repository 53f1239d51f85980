"""A gate camera end to end: a ``campus-gateway`` process watches a video, the ingest stores
the readings and the snapshot, the after-hours rule notifies with the snapshot's link."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from campuswatch.protocol import DeviceRef
from demo import videos
from demo.services import MosquittoServer
from ingest.app import IngestService
from ingest.config import IngestConfig
from ingest.web.app import create_api
from ingest.web.console.routes.alerts import alert_context
from tests.gateway.harness import GatewayProcess, gateway_config
from tests.harness import wait_for
from tests.receivers import HttpReceiver, http_receiver

VIEWER = {"Authorization": "Bearer viewer-token-1"}


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with http_receiver() as rx:
        yield rx


CAMERA = DeviceRef("sunshine-kg", "gw-canteen", "cam-gate")


def test_person_at_the_gate_reaches_the_patrol_with_a_snapshot(
    tmp_path: Path, broker: MosquittoServer, config: dict[str, Any], receiver: HttpReceiver
) -> None:
    config["channels"] = {"patrol": {"type": "webhook", "url": receiver.url()}}
    config["rules"] = [
        {
            "id": "person-at-gate",
            "kind": "camera",
            "where": {"building": "gate"},
            "when": {"field": "persons", "ge": 1},
            "severity": "warning",
            "notify": ["patrol"],
        },
    ]
    service = IngestService(IngestConfig.model_validate(config))
    service.start()
    assert service.wait_ready()
    video = videos.write_video(tmp_path / "gate.avi", 12, videos.walk(enter_s=4.0))
    camera = {
        "type": "camera",
        "devices": [
            {
                "device": "cam-gate",
                "url": str(video),
                "fps": 5,
                "name": "大门摄像头",
                "tags": {"building": "gate"},
            },
        ],
    }
    gateway = GatewayProcess(
        gateway_config(tmp_path, broker.port, config["mqtt"]["topic_root"], [camera]), tmp_path
    )
    gateway.start()
    try:
        body = wait_for(lambda: next(iter(receiver.bodies()), None), 30)
        assert body["rule"] == "person-at-gate"
        assert body["device"] == "cam-gate"
        snapshot_id = body["snapshot"]
        assert body["snapshot_url"] in body["message"]
        wait_for(lambda: service.snapshots.get(CAMERA, snapshot_id), 10)
        alert = service.alert_store.alert(body["alert_id"])
        assert alert is not None
        assert alert.snapshot == snapshot_id  # the console's alert page shows this one
        assert alert_context(service, alert)["snapshot_url"].endswith(f"/{snapshot_id}")
        with TestClient(create_api(service)) as api:
            link = urlsplit(body["snapshot_url"])
            image = api.get(f"{link.path}?{link.query}")  # signed: no token needed
            assert image.status_code == 200
            assert image.headers["content-type"] == "image/jpeg"
            assert image.content.startswith(b"\xff\xd8")
            assert api.get(link.path).status_code == 401  # without the signature: a token
            latest = api.get("/api/cameras/cam-gate/snapshots/latest", headers=VIEWER)
            assert latest.status_code == 200
            assert latest.headers["x-snapshot-id"]
            missing = api.get("/api/cameras/cam-none/snapshots/latest", headers=VIEWER)
            assert missing.status_code == 404
            # The ack link's page, opened without a login, shows the picture it is about.
            page = api.get(urlsplit(body["ack_url"]).path)
            assert page.status_code == 200
            [src] = re.findall(r'<img class="snapshot" src="([^"]+)"', page.text)
            picture = api.get(html.unescape(src))
            assert picture.status_code == 200
            assert picture.headers["x-snapshot-id"] == snapshot_id
        rows = wait_for(
            lambda: service.influx.query("SELECT persons, snapshot FROM camera WHERE persons >= 1"),
            20,
        )
        assert rows
    finally:
        gateway.stop()
        service.stop()
