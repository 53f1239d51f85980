"""Edge alarms (SPEC §12) with real processes: ``campus-gateway run`` publishes through a TCP
proxy the test cuts; a real HTTP receiver is the gateway's own channel and the server's; the
siren topic is on a real local broker. With the uplink up the gateway stays quiet (the
server tells, ``firing``); cut off for ``edge.after``, a smoke alarm is told at once and the
siren sounds, and when the link is back the server records it and tells it once as
``edge``, ``notified_by: "gateway"``; a restart while cut off neither loses nor repeats the
notification."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as mqtt
import pytest
from fastapi.testclient import TestClient
from paho.mqtt.enums import CallbackAPIVersion

from demo.services import InfluxServer, MosquittoServer
from ingest.app import IngestService
from ingest.config import IngestConfig
from ingest.web.app import create_api
from tests.gateway.harness import GatewayProcess, gateway_config
from tests.harness import SMOKE_RULE, VIEWER_AUTH, Publisher, config_dict, unique, wait_for
from tests.proxy import TcpProxy, tcp_proxy
from tests.receivers import HttpReceiver, http_receiver

SIREN = "zigbee2mqtt/siren-gate/set"


@pytest.fixture
def brokers(
    two_brokers: tuple[MosquittoServer, MosquittoServer],
) -> tuple[MosquittoServer, MosquittoServer]:
    """The central broker (behind the proxy) and the gateway's local broker (the siren)."""
    return two_brokers


@pytest.fixture
def proxy(brokers: tuple[MosquittoServer, MosquittoServer]) -> Iterator[TcpProxy]:
    with tcp_proxy(brokers[0].port) as p:
        yield p


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with http_receiver() as rx:
        yield rx


class Siren:
    """What the siren's topic received on the local broker."""

    def __init__(self, port: int) -> None:
        self.payloads: list[bytes] = []
        self._lock = threading.Lock()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=unique("siren-"))
        self.client.on_message = lambda _c, _u, msg: self.payloads.append(msg.payload)
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *_a: subscribed.set()
        self.client.connect("127.0.0.1", port)
        self.client.subscribe(SIREN, qos=1)
        self.client.loop_start()
        assert subscribed.wait(5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _gateway(
    tmp_path: Path,
    proxy: TcpProxy,
    local: MosquittoServer,
    receiver: HttpReceiver,
    fail: dict[str, str] | None = None,
    source: dict[str, Any] | None = None,
    root: str | None = None,
) -> GatewayProcess:
    """The gateway: two simulated smoke detectors failing as ``fail`` says, or ``source``."""
    smoke = [{"device": d, "kind": "smoke", "name": f"{d} 烟感"} for d in ("smoke-a", "smoke-b")]
    simulated = {"type": "simulated", "seed": 3, "every_s": 0.5, "fail": fail, "devices": smoke}
    source = source or simulated
    edge: dict[str, Any] = {
        "after": "2s",
        "channels": {"guard-room": {"type": "webhook", "url": receiver.url("/edge")}},
        "siren": {
            "topic": SIREN,
            "port": local.port,
            "payload": '{"warning": {"mode": "emergency"}}',
        },
    }
    config = gateway_config(tmp_path, proxy.port, root or unique("t"), [source], edge=edge)
    config["uplink"]["keepalive_s"] = 5
    return GatewayProcess(config, tmp_path)


def _edge_bodies(receiver: HttpReceiver, path: str = "/edge") -> list[dict[str, Any]]:
    return [
        r.body for r in receiver.requests if r.path == path and r.headers["x-accepted"] == "yes"
    ]


@pytest.fixture
def server(
    tmp_path: Path,
    brokers: tuple[MosquittoServer, MosquittoServer],
    influxd: InfluxServer,
    receiver: HttpReceiver,
) -> Iterator[IngestService]:
    """The central service on the central broker (not behind the proxy: the gateway's link
    is what is cut), telling its webhook ``/server``."""
    channels = {"guard": {"type": "webhook", "url": receiver.url("/server")}}
    rule = {**SMOKE_RULE, "notify": ["guard"]}
    doc = config_dict(tmp_path / "state", brokers[0], influxd, channels=channels, rules=[rule])
    service = IngestService(IngestConfig.model_validate(doc))
    service.start()
    assert service.wait_ready()
    yield service
    service.stop()


def test_the_gateway_tells_an_alarm_itself_only_while_cut_off(
    tmp_path: Path,
    brokers: tuple[MosquittoServer, MosquittoServer],
    proxy: TcpProxy,
    receiver: HttpReceiver,
    server: IngestService,
) -> None:
    siren = Siren(brokers[1].port)
    fail = {"smoke-a": "3s", "smoke-b": "12s"}
    root = server.config.mqtt.topic_root
    gateway = _gateway(tmp_path, proxy, brokers[1], receiver, fail, root=root)
    gateway.start()
    try:
        wait_for(lambda: "uplink connected" in gateway.log_text(), 20)
        time.sleep(6)  # smoke-a alarms at 3 s with the uplink up: the server's job
        assert _edge_bodies(receiver) == []
        assert siren.payloads == []
        proxy.cut()  # 6 s: cut off; smoke-b alarms at 12 s, 6 s into the cut
        body = wait_for(lambda: next(iter(_edge_bodies(receiver)), None), 20)
        assert (body["device"], body["kind"], body["edge"], body["gateway"]) == (
            "smoke-b",
            "smoke",
            True,
            "gw-canteen",
        )
        assert body["site"] == "sunshine-kg"
        assert "smoke-b 烟感" in body["message"]
        assert {"ts", "title"} <= set(body)
        wait_for(lambda: siren.payloads, 10)
        assert siren.payloads[0] == b'{"warning": {"mode": "emergency"}}'
        time.sleep(2)
        assert [b["device"] for b in _edge_bodies(receiver)] == ["smoke-b"]  # told once
        told_at = body["ts"]
        proxy.restore()
        wait_for(lambda: gateway.log_text().count("uplink connected") >= 2, 30)
        # The server: smoke-a (while up) told as firing; smoke-b once, as edge.
        told = wait_for(lambda: len(_edge_bodies(receiver, "/server")) >= 2, 30)
        assert told
        time.sleep(2)
        by_server = {(b["device"], b["state"]) for b in _edge_bodies(receiver, "/server")}
        assert by_server == {("smoke-a", "firing"), ("smoke-b", "edge")}
        assert len(_edge_bodies(receiver, "/server")) == 2
        [edge] = [b for b in _edge_bodies(receiver, "/server") if b["state"] == "edge"]
        assert edge["notified_by"] == "gateway"
        assert "网关 gw-canteen 连不上中心时已于" in edge["message"]
        _check_api(server, told_at)
    finally:
        gateway.stop()
        siren.close()


def _check_api(server: IngestService, on_ms: int) -> None:
    """``GET /api/alerts`` says who told each alert first."""
    with TestClient(create_api(server)) as api:
        got = api.get("/api/alerts?state=all", headers=VIEWER_AUTH).json()
    alerts = {a["device"]: a for a in got}
    assert alerts["smoke-a"]["notified_by"] == "server"
    assert alerts["smoke-a"]["edge_told_at"] is None
    assert alerts["smoke-b"]["notified_by"] == "gateway"
    told_at = datetime.fromisoformat(alerts["smoke-b"]["edge_told_at"]).timestamp() * 1000
    assert on_ms <= told_at < on_ms + 10_000  # the gateway told it within `after` and a tick
    assert alerts["smoke-b"]["state"] == "firing"  # still on: repeats and acks go on


def test_a_restart_while_cut_off_neither_loses_nor_repeats_it(
    tmp_path: Path,
    brokers: tuple[MosquittoServer, MosquittoServer],
    proxy: TcpProxy,
    receiver: HttpReceiver,
) -> None:
    # A Zigbee smoke detector in alarm, its state retained on the local broker as
    # Zigbee2MQTT keeps it: the gateway reads it again after its reboot.
    local = brokers[1]
    publisher = Publisher(local.port)
    state = {"smoke": True, "battery": 95, "battery_low": False, "tamper": False}
    publisher.publish("z2m/kitchen_smoke", orjson.dumps(state), retain=True)
    publisher.close()
    zigbee = {
        "type": "zigbee2mqtt",
        "broker": {"host": "127.0.0.1", "port": local.port},
        "base_topic": "z2m",
        "devices": [{"device": "smoke-kitchen", "kind": "smoke", "friendly_name": "kitchen_smoke"}],
    }
    proxy.cut()  # the server is out of reach from the start
    receiver.status = 503  # and the guard room's robot is down for now
    gateway = _gateway(tmp_path, proxy, local, receiver, source=zigbee)
    queue = Path(gateway.config["buffer"]["path"] + ".edge")
    gateway.start()
    try:
        wait_for(lambda: queue.exists() and _rows(queue, "pending") == 1, 20)
        assert _rows(queue, "alarms") == 1
        gateway.stop()  # a reboot during the outage
        gateway.start()
        time.sleep(4)  # the alarm read again after the reboot: known as told, not queued again
        assert _rows(queue, "pending") == 1
        receiver.status = 200
        wait_for(lambda: _edge_bodies(receiver), 30)
        wait_for(lambda: _rows(queue, "pending") == 0, 10)
        time.sleep(2)
        assert [b["device"] for b in _edge_bodies(receiver)] == ["smoke-kitchen"]
    finally:
        gateway.stop()


def _rows(path: Path, table: str) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
