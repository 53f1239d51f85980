"""Helpers for tests against real services: publishers, ingest processes, polling."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, ClassVar

import httpx
import orjson
import paho.mqtt.client as mqtt
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from demo.services import InfluxServer, MosquittoServer, free_port
from ingest.storage.influx import InfluxClient

# The smoke rule most tests alarm with: critical, told to the channel "patrol".
SMOKE_RULE: dict[str, Any] = {
    "id": "smoke",
    "kind": "smoke",
    "when": {"field": "smoke", "eq": True},
    "severity": "critical",
    "notify": ["patrol"],
}
VIEWER_AUTH = {"Authorization": "Bearer viewer-token-1"}  # the test configs' viewer token
BASE_TS = 1_795_459_258_120  # 2026-11-23, inside the accepted window


def unique(prefix: str) -> str:
    """A short unique name (topic roots, databases, client ids)."""
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def wait_for(predicate: Callable[[], Any], timeout: float, interval: float = 0.1) -> Any:
    """Poll until ``predicate`` returns something truthy; fail the test on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s (last: {result!r})")
        time.sleep(interval)


def config_dict(
    state_dir: Path,
    broker: MosquittoServer,
    influx: InfluxServer,
    *,
    database: str | None = None,
    topic_root: str | None = None,
    api_port: int | None = None,
    **sections: Any,
) -> dict[str, Any]:
    """A server config pointing at the test services, isolated by root, db and client id."""
    doc: dict[str, Any] = {
        "site": {"id": "sunshine-kg", "name": "阳光幼儿园", "timezone": "Asia/Shanghai"},
        "mqtt": {
            "host": "127.0.0.1",
            "port": broker.port,
            "topic_root": topic_root or unique("t"),
            "client_id": unique("ingest-"),
        },
        "influx": {"url": influx.url, "database": database or unique("db"), "timeout": "5s"},
        "api": {
            "host": "127.0.0.1",
            "port": api_port or free_port(),
            "tokens": [
                {"name": "viewer", "token": "viewer-token-1", "role": "viewer"},
                {"name": "值班室", "token": "guard-token-1", "role": "guard"},
                {"name": "admin", "token": "admin-token-1", "role": "admin"},
            ],
        },
        "state_dir": str(state_dir),
    }
    doc.update(sections)
    return doc


def reading(device: str, kind: str, ts: int, **values: Any) -> dict[str, Any]:
    """One reading dict."""
    return {"device": device, "kind": kind, "ts": ts, "values": values}


def envelope(gateway: str, seq: int, readings: list[dict[str, Any]]) -> bytes:
    """A readings envelope payload."""
    return orjson.dumps({"v": 1, "gateway": gateway, "seq": seq, "readings": readings})


class Publisher:
    """A QoS 1 publisher that waits for the broker's PUBACK of every message."""

    def __init__(self, port: int, client_id: str | None = None) -> None:
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id or unique("pub-")
        )
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        """Publish one message and wait until the broker has it."""
        self.publish_many([(topic, payload)], retain=retain)

    def publish_many(self, messages: Iterable[tuple[str, bytes]], *, retain: bool = False) -> None:
        """Publish messages (pipelined) and wait until the broker has all of them."""
        infos = [self.client.publish(t, p, qos=1, retain=retain) for t, p in messages]
        for info in infos:
            info.wait_for_publish(timeout=60)
            assert info.is_published()

    def close(self) -> None:
        """Disconnect."""
        self.client.disconnect()
        self.client.loop_stop()


class SteadyPublisher:
    """Publishes envelopes of ``size`` fridge readings every ``period`` s in a thread.

    Each reading has its own timestamp (1 ms apart from the publisher's start), so every
    one is a distinct point in InfluxDB; at 1,000 readings/s they follow the wall clock.
    """

    def __init__(
        self, port: int, topic: str, size: int, period: float, gateway: str = "gw-canteen"
    ) -> None:
        self.pub = Publisher(port)
        self.topic, self.size, self.period, self.gateway = topic, size, period, gateway
        self.sent = 0
        self._start_ms = int(time.time() * 1000)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        seq = 0
        next_at = time.perf_counter()
        while not self._stop.is_set():
            seq += 1
            batch = [
                reading(f"fridge-{n % 7}", "temperature", self._start_ms + n, celsius=4.5)
                for n in range(self.sent, self.sent + self.size)
            ]
            self.pub.publish(self.topic, envelope(self.gateway, seq, batch))
            self.sent += self.size
            next_at += self.period
            time.sleep(max(0.0, next_at - time.perf_counter()))

    def __enter__(self) -> SteadyPublisher:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.pub.close()


def count_points(client: InfluxClient, measurement: str, field: str) -> int:
    """Number of points of a measurement (0 when it does not exist yet)."""
    try:
        rows = client.query(f'SELECT count("{field}") FROM "{measurement}"')
    except Exception:
        return 0
    return int(rows[0]["count"]) if rows else 0


class ChildProcess:
    """``python -m MODULE run --config FILE`` as a child process, so tests can SIGKILL it."""

    module = ""
    running: ClassVar[set[subprocess.Popen[bytes]]] = set()  # killed after each test

    def __init__(self, config: dict[str, Any], workdir: Path, name: str) -> None:
        self.config = config
        self.config_path = workdir / f"{name}.yaml"
        self.config_path.write_text(yaml.safe_dump(config, allow_unicode=True))
        self.log_path = workdir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def spawn(self) -> None:
        """Start the process, its output appended to the log file."""
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", self.module, "run", "--config", str(self.config_path)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ},
            )
        ChildProcess.running.add(self.proc)

    @classmethod
    def kill_leftovers(cls, kept: set[subprocess.Popen[bytes]]) -> None:
        """SIGKILL every child started since ``kept`` was taken and still running (a
        failed assertion skips its stop); those of ``kept`` belong to wider fixtures."""
        for proc in cls.running - kept:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        cls.running &= kept

    def log_text(self) -> str:
        """Everything the process logged so far."""
        return self.log_path.read_text() if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL, as a power cut or OOM kill would."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()
        self.proc = None


class IngestProcess(ChildProcess):
    """``campus-ingest run`` as a child process."""

    module = "ingest.cli"

    def __init__(self, config: dict[str, Any], workdir: Path, verify: Any = True) -> None:
        super().__init__(config, workdir, "ingest")
        scheme = "https" if config["api"].get("tls") else "http"
        self.api = f"{scheme}://127.0.0.1:{config['api']['port']}"
        self.verify = verify  # the CA of an HTTPS API

    def start(self) -> None:
        """Start and wait until the API answers."""
        self.spawn()

        def up() -> bool:
            assert self.proc is not None
            assert self.proc.poll() is None, self.log_path.read_text()
            try:
                answer = httpx.get(self.api + "/api/health", timeout=1, verify=self.verify)
                return answer.status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(up, 30)

    def stop(self) -> int:
        """SIGTERM and wait; returns the exit code."""
        if self.proc is None:
            return 0
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(30)
        self.proc = None
        return code

    def rss_mb(self) -> float:
        """Resident memory of the process, in MB."""
        assert self.proc is not None
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        kb = next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))
        return int(kb) / 1024

    def metric(self, name: str) -> float:
        """Sum of a Prometheus metric's samples (all labels)."""
        text = httpx.get(self.api + "/metrics", timeout=5, headers=VIEWER_AUTH).text
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith(name) and not line.startswith("#") and line[len(name)] in " {"
        )
