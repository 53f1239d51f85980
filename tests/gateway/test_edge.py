"""Edge alarms (SPEC §12) with real processes: ``campus-gateway run`` publishes through a TCP
proxy the test cuts; a real HTTP receiver is the gateway's own channel; the siren topic is
on a real local broker. With the uplink up the gateway stays quiet; cut off for
``edge.after``, a smoke alarm is told at once and the siren sounds; a restart while cut off
neither loses nor repeats the notification."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from demo.services import MosquittoServer
from tests.gateway.harness import GatewayProcess, gateway_config
from tests.harness import Publisher, unique, wait_for
from tests.proxy import TcpProxy, tcp_proxy
from tests.receivers import HttpReceiver, http_receiver

SIREN = "zigbee2mqtt/siren-gate/set"


@pytest.fixture
def brokers(tmp_path: Path) -> Iterator[tuple[MosquittoServer, MosquittoServer]]:
    """The central broker (behind the proxy) and the gateway's local broker (the siren)."""
    central, local = MosquittoServer(tmp_path / "central"), MosquittoServer(tmp_path / "local")
    central.start()
    local.start()
    yield central, local
    central.stop()
    local.stop()


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
    config = gateway_config(tmp_path, proxy.port, unique("t"), [source], edge=edge)
    config["uplink"]["keepalive_s"] = 5
    return GatewayProcess(config, tmp_path)


def _edge_bodies(receiver: HttpReceiver) -> list[dict[str, Any]]:
    return [
        r.body for r in receiver.requests if r.path == "/edge" and r.headers["x-accepted"] == "yes"
    ]


def test_the_gateway_tells_an_alarm_itself_only_while_cut_off(
    tmp_path: Path,
    brokers: tuple[MosquittoServer, MosquittoServer],
    proxy: TcpProxy,
    receiver: HttpReceiver,
) -> None:
    siren = Siren(brokers[1].port)
    gateway = _gateway(tmp_path, proxy, brokers[1], receiver, {"smoke-a": "3s", "smoke-b": "12s"})
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
        proxy.restore()
        wait_for(lambda: gateway.log_text().count("uplink connected") >= 2, 30)
    finally:
        gateway.stop()
        siren.close()


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
