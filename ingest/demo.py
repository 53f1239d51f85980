"""``campus-ingest demo``: the whole system on this machine with a simulated campus.

Starts mosquitto and influxd (shipped configs, free ports) and ``campus-ingest run`` as
child processes under the demo directory, publishes a small kindergarten's readings as
its gateways would, prints where to look, and stops everything on Ctrl-C.
"""

from __future__ import annotations

import random
import secrets
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import orjson
import paho.mqtt.client as mqtt
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from gateway.protocol import Meta, meta_topic, readings_topic, status_topic
from gateway.sources.simulated import SimulatedDevice, sample_campus
from ingest.devservices import InfluxServer, MosquittoServer, ServiceError
from ingest.errors import StorageError
from ingest.storage.influx import InfluxClient

SITE = "sunshine-kg"
ROOT = "campus"
TIMEZONE = "Asia/Shanghai"
# The scenario: after a few readings the back door of room 101 is left open and unlocked
# and the canteen fridge's compressor stops.
SCENARIO_DEVICES = ("door-main-101", "fridge-cold-1")
SCENARIO_AFTER_TICKS = 3
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


class CampusSimulator:
    """Publishes meta, status and readings for every simulated gateway."""

    def __init__(self, broker_port: int, period_s: float = 2.0) -> None:
        self.period_s = period_s
        self.tz = ZoneInfo(TIMEZONE)
        rng = random.Random(2026)
        self.gateways = {
            gw: [SimulatedDevice(info, rng) for info in devices]
            for gw, devices in sample_campus().items()
        }
        self.seq = {gw: int(time.time() * 1000) for gw in self.gateways}
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="campus-demo-gateways")
        self.client.connect("127.0.0.1", broker_port)
        self.client.loop_start()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="simulator", daemon=True)

    def start(self) -> None:
        """Announce the gateways and start publishing readings."""
        for gw, devices in self.gateways.items():
            meta = Meta(gateway=gw, devices=[d.info for d in devices])
            self.client.publish(meta_topic(ROOT, SITE, gw), meta.model_dump_json(), 1, retain=True)
            status = {"state": "online", "ts": int(time.time() * 1000), "version": "demo"}
            self.client.publish(status_topic(ROOT, SITE, gw), orjson.dumps(status), 1, retain=True)
        self._thread.start()

    def _run(self) -> None:
        ticks = 0
        while not self._stop.wait(self.period_s):
            ticks += 1
            if ticks == SCENARIO_AFTER_TICKS:
                for devices in self.gateways.values():
                    for d in devices:
                        if d.info.device in SCENARIO_DEVICES:
                            d.fail()
            now = time.time()
            for gw, devices in self.gateways.items():
                self.seq[gw] += 1
                readings = [
                    {
                        "device": d.info.device,
                        "kind": d.info.kind,
                        "ts": int(now * 1000),
                        "values": d.read(now, self.tz),
                    }
                    for d in devices
                ]
                envelope = {"v": 1, "gateway": gw, "seq": self.seq[gw], "readings": readings}
                self.client.publish(readings_topic(ROOT, SITE, gw), orjson.dumps(envelope), 1)

    def stop(self) -> None:
        """Say the gateways stopped and disconnect."""
        self._stop.set()
        self._thread.join(timeout=5)
        for gw in self.gateways:
            status = {"state": "stopped", "ts": int(time.time() * 1000), "version": "demo"}
            self.client.publish(status_topic(ROOT, SITE, gw), orjson.dumps(status), 1, retain=True)
        self.client.disconnect()
        self.client.loop_stop()


def _write_config(
    workdir: Path, broker: MosquittoServer, influx: InfluxServer, api_port: int, token: str
) -> Path:
    config: dict[str, Any] = {
        "site": {"id": SITE, "name": "阳光幼儿园 (demo)", "timezone": TIMEZONE},
        "mqtt": {
            "host": "127.0.0.1",
            "port": broker.port,
            "topic_root": ROOT,
            "client_id": "campus-ingest-demo",
        },
        "influx": {"url": influx.url, "database": "campus"},
        "api": {
            "host": "127.0.0.1",
            "port": api_port,
            "tokens": [{"name": "值班室", "token": token, "role": "admin"}],
        },
        "state_dir": str(workdir / "ingest"),
        **_alerting(),
    }
    path = workdir / "ingest.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False))
    return path


def _alerting() -> dict[str, Any]:
    """The SPEC §4 rules, with hold times short enough to watch in a demo."""
    today = datetime.now(ZoneInfo(TIMEZONE)).date().isoformat()
    door = {"any": [{"field": "open", "eq": True}, {"field": "locked", "eq": False}]}
    return {
        "schedules": {
            "school_hours": {"days": [*WEEKDAYS], "from": "07:00", "to": "18:00"}
        },
        # The demo declares today a holiday so the after-hours door rule applies whenever
        # it runs; a real campus lists its holidays and make-up days here.
        "calendar": {"closed": [today]},
        "channels": {"patrol": {"type": "log"}, "canteen": {"type": "log"}},
        "rules": [
            {"id": "door-open-after-hours", "kind": "door", "where": {"building": "main"},
             "when": door, "active": {"outside": "school_hours"}, "for": "20s",
             "severity": "warning", "notify": ["patrol"], "repeat": "15m"},
            {"id": "fridge-warm", "kind": "temperature", "where": {"class": "refrigerator"},
             "when": {"field": "celsius", "gt": 8}, "for": "20s", "severity": "critical",
             "notify": ["canteen"]},
            {"id": "freezer-warm", "kind": "temperature", "where": {"class": "freezer"},
             "when": {"field": "celsius", "gt": -12}, "for": "30s", "severity": "critical",
             "notify": ["canteen"]},
            {"id": "smoke", "kind": "smoke", "when": {"field": "smoke", "eq": True},
             "severity": "critical", "notify": ["patrol"]},
            {"id": "sensor-silent", "kind": "*", "silent_for": "3x", "notify": ["patrol"]},
            {"id": "gateway-offline", "gateway_offline": "2m", "notify": ["patrol"]},
        ],
    }  # fmt: skip


def _wait_for_api(api: str, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServiceError(f"campus-ingest exited with code {proc.returncode}")
        try:
            if httpx.get(api + "/api/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise ServiceError(f"campus-ingest did not answer on {api}")


def run_demo(workdir: Path, *, duration_s: float | None = None, api_port: int = 8000) -> int:
    """Run the demo until Ctrl-C (or ``duration_s``); returns an exit code."""
    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    broker = MosquittoServer(workdir / "mosquitto")
    influx = InfluxServer(workdir / "influxdb")
    token = secrets.token_urlsafe(16)
    api = f"http://127.0.0.1:{api_port}"
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    ingest: subprocess.Popen[bytes] | None = None
    simulator: CampusSimulator | None = None
    try:
        broker.start()
        influx.start()
        config_path = _write_config(workdir, broker, influx, api_port, token)
        with (workdir / "ingest.log").open("ab") as log:
            ingest = subprocess.Popen(
                [sys.executable, "-m", "ingest.cli", "run", "--config", str(config_path)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        _wait_for_api(api, ingest)
        simulator = CampusSimulator(broker.port)
        simulator.start()
        _print_banner(api, token, broker, influx, workdir)
        _report_until(stop, duration_s, influx, api, token)
    except ServiceError as exc:
        print(f"demo failed: {exc}", file=sys.stderr)
        return 1
    finally:
        print("stopping…", file=sys.stderr)
        if simulator is not None:
            simulator.stop()
        if ingest is not None and ingest.poll() is None:
            ingest.send_signal(signal.SIGTERM)
            ingest.wait(30)
        influx.stop()
        broker.stop()
    return 0


def _print_banner(
    api: str, token: str, broker: MosquittoServer, influx: InfluxServer, workdir: Path
) -> None:
    print(
        f"""
campuswatch demo is running (Ctrl-C stops it)
  API        {api}/docs        token: {token}
  devices    curl -H 'Authorization: Bearer {token}' {api}/api/devices
  alerts     curl -H 'Authorization: Bearer {token}' {api}/api/alerts
             (scenario: room 101's back door is left open and the canteen fridge warms
              up; their alerts fire within a minute and are logged to the ingest log)
  health     {api}/api/health      metrics: {api}/metrics
  MQTT       127.0.0.1:{broker.port}  (topic campus/{SITE}/+/readings)
  InfluxDB   {influx.url}  database "campus"
  logs       {workdir}/ingest.log
""",
        flush=True,
    )


def _report_until(
    stop: threading.Event, duration_s: float | None, influx: InfluxServer, api: str, token: str
) -> None:
    client = InfluxClient(influx.url, "campus")
    started = time.monotonic()
    shown: set[tuple[int, str]] = set()
    try:
        while not stop.wait(5.0):
            points = sum(_count(client, m) for m in ("door", "temperature", "electricity"))
            devices = httpx.get(
                api + "/api/devices", timeout=5, headers={"Authorization": f"Bearer {token}"}
            ).json()
            online = sum(1 for d in devices if d["online"])
            print(f"  {points} points stored; {online}/{len(devices)} devices online", flush=True)
            alerts = httpx.get(
                api + "/api/alerts", timeout=5, headers={"Authorization": f"Bearer {token}"}
            ).json()
            for alert in alerts:
                if (alert["id"], alert["state"]) not in shown:
                    shown.add((alert["id"], alert["state"]))
                    where = alert["name"] or alert["device"]
                    print(f"  ALERT #{alert['id']} {alert['title']}: {where} ({alert['state']})")
            if duration_s is not None and time.monotonic() - started >= duration_s:
                return
    finally:
        client.close()


def _count(client: InfluxClient, measurement: str) -> int:
    try:
        rows = client.query(f'SELECT count(*) FROM "{measurement}"')
    except StorageError:  # the database may not exist in the first seconds
        return 0
    return (
        max((int(v) for k, v in rows[0].items() if k.startswith("count_")), default=0)
        if rows
        else 0
    )
