"""The chaos world: real mosquitto (the central broker, and the Zigbee gateway's local one
with its siren), influxd, ``campus-ingest run`` and three ``campus-gateway run`` processes
(Modbus meters on socat serial ports, Zigbee2MQTT-style devices on the local broker, and a
simulated building at a few hundred readings a second), each gateway's uplink through a
TCP proxy the schedule cuts, stalls or resets. A witness (a persistent QoS 1 subscriber
on the central broker) records every envelope and told record the broker took; the
server's webhook and the Zigbee gateway's own robot are real HTTP receivers."""

from __future__ import annotations

import random
import signal
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from demo.services import InfluxServer, MosquittoServer
from tests.gateway.harness import GatewayProcess, gateway_config
from tests.gateway.serial_ports import PtyPair
from tests.gateway.simulators import DDSU666, HOLDING, MeterBus, SimulatedMeter
from tests.harness import SMOKE_RULE, IngestProcess, Publisher, config_dict, unique
from tests.proxy import TcpProxy
from tests.receivers import HttpReceiver

EDGE_AFTER_S = 3
SMOKES = ("smoke-1", "smoke-2", "smoke-3")
DOORS = ("door-1", "door-2", "door-3", "door-4")
DOOR_RULE = {
    "id": "door-open",
    "kind": "door",
    "when": {"field": "open", "eq": True},
    "severity": "warning",
    "notify": ["guard"],
}


@dataclass
class Gateway:
    """One gateway process and the proxy its uplink goes through."""

    name: str
    process: GatewayProcess
    proxy: TcpProxy

    @property
    def buffer(self) -> Path:
        """Its store-and-forward file."""
        return Path(self.process.config["buffer"]["path"])

    def depth(self) -> int:
        """Readings and envelopes still in its buffer (read beside the running gateway)."""
        if not self.buffer.exists():
            return 0
        with sqlite3.connect(f"file:{self.buffer}?mode=ro", uri=True, timeout=10) as db:
            rows = db.execute("SELECT count(*) FROM readings").fetchone()[0]
            envelopes = db.execute("SELECT count(*) FROM envelopes").fetchone()[0]
        return int(rows) + int(envelopes)


@dataclass
class Witness:
    """Every readings envelope and told record the central broker took, by gateway."""

    envelopes: dict[tuple[str, int], list[dict[str, Any]]] = field(default_factory=dict)
    told: list[dict[str, Any]] = field(default_factory=list)
    last_heard: dict[str, float] = field(default_factory=dict)  # monotonic, by gateway
    repeated: int = 0  # readings in envelopes the broker delivered again
    lock: threading.Lock = field(default_factory=threading.Lock)
    client: mqtt.Client | None = None

    def start(self, port: int, root: str) -> None:
        """Subscribe (persistent session: a broker restart loses nothing of it)."""
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=unique("witness-"), clean_session=False
        )
        client.reconnect_delay_set(0.2, 2)
        subscribed = threading.Event()
        client.on_connect = lambda c, *_a: c.subscribe(
            [(f"{root}/+/+/readings", 1), (f"{root}/+/+/edge", 1)]
        )
        client.on_subscribe = lambda *_a: subscribed.set()
        client.on_message = self._message
        client.connect("127.0.0.1", port)
        client.loop_start()
        assert subscribed.wait(10), "the witness never subscribed"
        self.client = client

    def _message(self, _c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        doc = orjson.loads(msg.payload)
        gateway = msg.topic.split("/")[-2]
        with self.lock:
            if msg.topic.endswith("/edge"):
                self.told.append(doc)
            else:
                key = (gateway, doc["seq"])
                if key in self.envelopes:
                    self.repeated += len(doc["readings"])
                self.envelopes[key] = doc["readings"]
                self.last_heard[gateway] = time.monotonic()

    def stop(self) -> None:
        """Disconnect."""
        if self.client is not None:
            self.client.disconnect()
            self.client.loop_stop()

    def readings(self) -> list[tuple[str, dict[str, Any]]]:
        """(gateway, reading) of every envelope, in seq order per gateway."""
        with self.lock:
            keys = sorted(self.envelopes)
            return [(gw, r) for gw, seq in keys for r in self.envelopes[(gw, seq)]]

    def heard_since(self, gateway: str, since: float) -> bool:
        """Whether an envelope of ``gateway`` arrived after monotonic ``since``."""
        with self.lock:
            return self.last_heard.get(gateway, 0.0) > since


class ZigbeeDevices:
    """The Zigbee2MQTT bridge's devices on the local broker: smoke alarms when the
    schedule says, doors that open and close at random (seeded), each state retained as
    Zigbee2MQTT keeps it."""

    def __init__(self, port: int, base: str, seed: int) -> None:
        self.publisher = Publisher(port)
        self.base = base
        self.rng = random.Random(seed)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._doors, daemon=True)

    def start(self) -> None:
        """Every device's first state, then the doors move."""
        for device in SMOKES:
            self.smoke(device, on=False)
        for device in DOORS:
            self._door(device, closed=True)
        self._thread.start()

    def smoke(self, device: str, *, on: bool) -> None:
        """A smoke detector's state."""
        state = {"smoke": on, "battery": 95, "battery_low": False, "tamper": False}
        self.publisher.publish(f"{self.base}/{device}", orjson.dumps(state), retain=True)

    def _door(self, device: str, *, closed: bool) -> None:
        state = {"contact": closed, "battery": 90}
        self.publisher.publish(f"{self.base}/{device}", orjson.dumps(state), retain=True)

    def _doors(self) -> None:
        closed = dict.fromkeys(DOORS, True)
        while not self._stop.wait(0.5):
            device = self.rng.choice(DOORS)
            if self.rng.random() < 0.3:
                closed[device] = not closed[device]
                self._door(device, closed=closed[device])

    def stop(self) -> None:
        """Stop moving doors."""
        self._stop.set()
        self._thread.join(5)
        self.publisher.close()


def ingest_config(work: Path, broker: MosquittoServer, influx: InfluxServer, hook: str) -> Any:
    """The server: a smoke rule (critical) and a door rule, both telling ``hook``."""
    channels = {"guard": {"type": "webhook", "url": hook}}
    rules = [{**SMOKE_RULE, "notify": ["guard"]}, DOOR_RULE]
    return config_dict(work / "state", broker, influx, channels=channels, rules=rules)


def gateway_configs(
    work: Path, root: str, proxies: dict[str, TcpProxy], serial: str, local: int, robot: str
) -> dict[str, dict[str, Any]]:
    """The three gateways: meters on a serial line, Zigbee devices, a simulated building."""
    meters = {
        "type": "modbus_rtu",
        "port": serial,
        "baudrate": 9600,
        "poll": "1s",
        "timeout": "300ms",
        "devices": [
            {"device": "meter-main", "kind": "electricity", "unit": 1, "profile": "chint-ddsu666"}
        ],
    }
    zigbee = {
        "type": "zigbee2mqtt",
        "broker": {"port": local},
        "base_topic": "z2m",
        "devices": [
            *({"device": d, "kind": "smoke", "friendly_name": d} for d in SMOKES),
            *({"device": d, "kind": "door", "friendly_name": d} for d in DOORS),
        ],
    }
    kinds = ("temperature", "electricity", "water", "motion")
    building = {
        "type": "simulated",
        "seed": 11,
        "every_s": 0.5,
        "devices": [{"device": f"sim-{i}", "kind": kinds[i % 4]} for i in range(230)],
    }
    edge = {"after": f"{EDGE_AFTER_S}s", "channels": {"robot": {"type": "webhook", "url": robot}}}
    sources = {"gw-meters": meters, "gw-zigbee": zigbee, "gw-building": building}
    configs = {}
    for name, source in sources.items():
        directory = work / name
        directory.mkdir()
        extra: dict[str, Any] = {"edge": edge} if name == "gw-zigbee" else {}
        config = gateway_config(directory, proxies[name].port, root, [source], **extra)
        config["gateway"]["id"] = name
        config["buffer"]["path"] = str(directory / "buffer.db")
        config["uplink"]["keepalive_s"] = 5
        config["health_interval"] = "10s"
        configs[name] = config
    return configs


class World:
    """Everything the chaos runs against; ``stop`` tears it down in any state."""

    def __init__(self, work: Path, seed: int, hook: HttpReceiver, robot: HttpReceiver) -> None:
        self.work, self.seed = work, seed
        self.hook, self.robot = hook, robot
        self.central = MosquittoServer(work / "central")
        self.local = MosquittoServer(work / "local")
        self.influx = InfluxServer(work / "influx")
        self.witness = Witness()
        self.gateways: dict[str, Gateway] = {}
        self.serial = PtyPair(work)
        self.zigbee: ZigbeeDevices | None = None
        self.ingest: IngestProcess | None = None
        self._bus: MeterBus | None = None

    def start(self) -> None:
        """Start every service, the ingest, the witness and the gateways."""
        for server in (self.central, self.local, self.influx):
            server.start()
        config = ingest_config(self.work, self.central, self.influx, self.hook.url("/server"))
        self.ingest = IngestProcess(config, self.work)
        self.ingest.start()
        root = config["mqtt"]["topic_root"]
        self.witness.start(self.central.port, root)
        self.serial.start()
        self._bus = MeterBus(self.serial.device, [SimulatedMeter(1, HOLDING, DDSU666)])
        self._bus.start()
        self.zigbee = ZigbeeDevices(self.local.port, "z2m", self.seed)
        self.zigbee.start()
        names = ("gw-meters", "gw-zigbee", "gw-building")
        proxies = {name: TcpProxy(self.central.port) for name in names}
        robot = self.robot.url("/edge")
        configs = gateway_configs(
            self.work, root, proxies, self.serial.gateway, self.local.port, robot
        )
        for name in names:
            process = GatewayProcess(configs[name], self.work / name)
            self.gateways[name] = Gateway(name, process, proxies[name])
            process.start()

    def signal(self, target: str, signum: signal.Signals) -> None:
        """Send ``signum`` to a process of the world by name."""
        servers = {"broker": self.central, "influxd": self.influx}
        if target in servers:
            proc = servers[target].proc
        elif target == "ingest":
            assert self.ingest is not None
            proc = self.ingest.proc
        else:
            proc = self.gateways[target].process.proc
        assert proc is not None, f"{target} is not running"
        proc.send_signal(signum)

    def stop(self) -> None:
        """Stop everything still running (after a failure too)."""
        for gateway in self.gateways.values():
            gateway.proxy.resume()
            gateway.proxy.restore()
            if gateway.process.proc is not None:
                gateway.process.proc.send_signal(signal.SIGCONT)
                gateway.process.kill()
            gateway.proxy.close()
        if self.zigbee is not None:
            self.zigbee.stop()
        if self._bus is not None:
            self._bus.stop()
        self.serial.stop()
        self.witness.stop()
        if self.ingest is not None and self.ingest.proc is not None:
            self.ingest.proc.send_signal(signal.SIGCONT)
            self.ingest.kill()
        for server in (self.central, self.local, self.influx):
            if server.proc is not None:
                server.proc.send_signal(signal.SIGCONT)
            server.kill()
