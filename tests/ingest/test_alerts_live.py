"""Alerts end to end: MQTT in, webhook out, the alert API and ``alert_event`` in InfluxDB."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ingest.app import IngestService
from ingest.config import IngestConfig
from ingest.storage.influx import InfluxClient
from ingest.web.app import create_api
from tests.harness import SMOKE_RULE, Publisher, count_points, envelope, reading, wait_for
from tests.receivers import HttpReceiver, http_receiver

TOKENS = {
    None: {},
    "viewer": {"Authorization": "Bearer viewer-token-1"},
    "guard": {"Authorization": "Bearer guard-token-1"},
    "admin": {"Authorization": "Bearer admin-token-1"},
}


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with http_receiver() as r:
        yield r


@pytest.fixture
def alerting(config: dict[str, Any], receiver: HttpReceiver) -> Iterator[IngestService]:
    """A running service with a smoke rule notifying the receiver's webhook."""
    config["channels"] = {"patrol": {"type": "webhook", "url": receiver.url()}}
    config["rules"] = [SMOKE_RULE]
    service = IngestService(IngestConfig.model_validate(config))
    service.start()
    assert service.wait_ready()
    yield service
    service.stop()


@pytest.fixture
def api(alerting: IngestService) -> Iterator[TestClient]:
    with TestClient(create_api(alerting)) as client:
        yield client


def _smoke(publisher: Publisher, config: dict[str, Any], seq: int, on: bool) -> None:
    topic = f"{config['mqtt']['topic_root']}/sunshine-kg/gw-main/readings"
    ts = int(time.time() * 1000)
    publisher.publish(topic, envelope("gw-main", seq, [reading("smoke-1", "smoke", ts, smoke=on)]))


def _states(receiver: HttpReceiver) -> list[str]:
    return [b["state"] for b in receiver.bodies()]


def test_smoke_to_webhook_ack_resolve_and_history(
    alerting: IngestService,
    api: TestClient,
    publisher: Publisher,
    config: dict[str, Any],
    receiver: HttpReceiver,
    db: InfluxClient,
) -> None:
    _smoke(publisher, config, 1, on=True)
    wait_for(lambda: _states(receiver) == ["firing"], 10)
    body = receiver.bodies()[0]
    assert (body["rule"], body["device"], body["severity"]) == ("smoke", "smoke-1", "critical")
    [listed] = api.get("/api/alerts", headers=TOKENS["viewer"]).json()
    assert listed["state"] == "firing"
    assert listed["id"] == body["alert_id"]

    ack = api.post(
        f"/api/alerts/{listed['id']}/ack",
        json={"note": "厨房误报，已复位"},
        headers=TOKENS["guard"],
    )
    assert ack.status_code == 200
    assert (ack.json()["state"], ack.json()["acknowledged_by"]) == ("acknowledged", "值班室")
    wait_for(lambda: _states(receiver) == ["firing", "acknowledged"], 10)

    _smoke(publisher, config, 2, on=False)
    wait_for(lambda: _states(receiver) == ["firing", "acknowledged", "resolved"], 10)
    assert api.get("/api/alerts", headers=TOKENS["viewer"]).json() == []
    detail = api.get(f"/api/alerts/{listed['id']}", headers=TOKENS["viewer"]).json()
    assert detail["state"] == "resolved"
    assert [(e["state"], e["by"]) for e in detail["events"]] == [
        ("pending", None),
        ("firing", None),
        ("acknowledged", "值班室"),
        ("resolved", None),
    ]
    assert detail["events"][2]["note"] == "厨房误报，已复位"
    # Every lifecycle step is in InfluxDB for Grafana annotations.
    wait_for(lambda: count_points(db, "alert_event", "alert_id") == 4, 15)
    rows = db.query('SELECT * FROM "alert_event" WHERE "state" = \'firing\'')
    assert rows[0]["rule"] == "smoke"
    assert rows[0]["title"] == "烟雾报警"


def test_a_smoke_alarm_inside_a_gateways_backlog_is_told_late(
    alerting: IngestService,
    api: TestClient,
    publisher: Publisher,
    config: dict[str, Any],
    receiver: HttpReceiver,
) -> None:
    # The gateway was offline for 20 minutes; on reconnecting it drains its buffer: a
    # smoke alarm that began and ended while it was away.
    topic = f"{config['mqtt']['topic_root']}/sunshine-kg/gw-main/readings"
    began = int(time.time() * 1000) - 20 * 60_000
    backlog = [
        reading("smoke-1", "smoke", began, smoke=True),
        reading("smoke-1", "smoke", began + 90_000, smoke=False),
    ]
    publisher.publish(topic, envelope("gw-main", 1, backlog))
    [late] = wait_for(receiver.bodies, 10)
    assert (late["state"], late["title"]) == ("late", "【补报】烟雾报警")
    assert "网关恢复连接后补报" in late["message"]
    assert late["ack_url"].startswith("http://127.0.0.1:")  # told once, and can be taken
    ack = api.post(
        f"/api/alerts/{late['alert_id']}/ack", json={"note": "已查看"}, headers=TOKENS["guard"]
    )
    assert ack.status_code == 200, ack.text
    assert (ack.json()["state"], ack.json()["acknowledged_by"]) == ("resolved", "值班室")
    assert api.get("/api/alerts", headers=TOKENS["viewer"]).json() == []


def test_an_alarm_delivered_after_a_later_all_clear_is_told_late_once(
    alerting: IngestService,
    publisher: Publisher,
    config: dict[str, Any],
    receiver: HttpReceiver,
) -> None:
    """Issue 20, item 3: a broker failover delivered smoke=true (seq 91) after a later
    smoke=false (seq 103); the alarm was neither told nor recorded. Replayed here, and
    the late envelope redelivered, through the real broker."""
    topic = f"{config['mqtt']['topic_root']}/sunshine-kg/gw-main/readings"
    now = int(time.time() * 1000)
    clear = envelope("gw-main", 103, [reading("smoke-1", "smoke", now - 5_000, smoke=False)])
    alarm = envelope("gw-main", 91, [reading("smoke-1", "smoke", now - 30_000, smoke=True)])
    publisher.publish_many([(topic, clear), (topic, alarm), (topic, alarm)])
    [late] = wait_for(receiver.bodies, 10)
    assert late["state"] == "late"
    # Both copies of seq 91 were evaluated (older than seq 103's reading): told once.
    wait_for(lambda: alerting.metrics.late_readings._value.get() == 2, 10)
    assert alerting.metrics.told_out_of_order._value.get() == 1
    queued = "SELECT COUNT(*) FROM outbox WHERE alert_id = ?"
    assert alerting.alert_store.db.execute(queued, (late["alert_id"],)).fetchone()[0] == 1
    [recorded] = alerting.alert_store.alerts(active_only=False, limit=10)
    assert (recorded.device, recorded.state) == ("smoke-1", "resolved")


@pytest.mark.parametrize("role", [None, "viewer", "guard", "admin"])
def test_alert_endpoints_role_matrix(
    alerting: IngestService,
    api: TestClient,
    publisher: Publisher,
    config: dict[str, Any],
    receiver: HttpReceiver,
    role: str | None,
) -> None:
    _smoke(publisher, config, 1, on=True)
    wait_for(lambda: alerting.alert_store.alerts(active_only=True, limit=1), 10)
    alert_id = alerting.alert_store.alerts(active_only=True, limit=1)[0].id
    headers = TOKENS[role]
    reads = [
        api.get("/api/alerts", headers=headers),
        api.get("/api/alerts?state=all", headers=headers),
        api.get(f"/api/alerts/{alert_id}", headers=headers),
    ]
    ack = api.post(f"/api/alerts/{alert_id}/ack", json={"note": ""}, headers=headers)
    expected_read = 401 if role is None else 200
    expected_ack = {None: 401, "viewer": 403}.get(role, 200)
    assert [r.status_code for r in reads] == [expected_read] * 3
    assert ack.status_code == expected_ack


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/api/alerts/999999/ack", {"note": ""}, 404),
        ("/api/alerts/0/ack", {"note": ""}, 422),
        ("/api/alerts/abc/ack", {"note": ""}, 422),
        ("/api/alerts/1/ack", {"note": "x" * 1001}, 422),
        ("/api/alerts/1/ack", {"note": "", "by": "someone"}, 422),
        ("/api/alerts/1/ack", ["not", "an", "object"], 422),
    ],
)
def test_bad_ack_requests_get_clear_errors(
    api: TestClient, path: str, body: Any, status: int
) -> None:
    response = api.post(path, json=body, headers=TOKENS["guard"])
    assert response.status_code == status
    assert response.json()["detail"]


def test_ack_twice_is_a_conflict_and_bad_state_filter_is_refused(
    alerting: IngestService, api: TestClient, publisher: Publisher, config: dict[str, Any]
) -> None:
    _smoke(publisher, config, 1, on=True)
    wait_for(lambda: alerting.alert_store.alerts(active_only=True, limit=1), 10)
    alert_id = alerting.alert_store.alerts(active_only=True, limit=1)[0].id
    assert (
        api.post(f"/api/alerts/{alert_id}/ack", json={}, headers=TOKENS["guard"]).status_code == 200
    )
    again = api.post(f"/api/alerts/{alert_id}/ack", json={}, headers=TOKENS["guard"])
    assert again.status_code == 409
    assert "already acknowledged by 值班室" in again.json()["detail"]
    assert api.get("/api/alerts?state=open", headers=TOKENS["viewer"]).status_code == 422
