"""Console benchmark: the board of a 300-device campus with 50 active alerts.

Run with ``python -m tests.bench.bench_console`` (``make bench`` runs it too). Against a
``campus-ingest run`` process on real mosquitto and influxd it prints:

- the board's first load, logged in: time per request and bytes sent, beside the time of
  ``/api/health`` on the same connection (the floor of any request);
- one live update: the size of the server-sent event that carries one door opening;
- a device's page (its day read from InfluxDB) and each report page, time and bytes;
- the service's CPU while 1,000 readings/s flow (temperatures that change what the board
  shows), without consoles and with 20 open consoles, as % of one core.

Goals (issue #13): first page under 150 ms and 200 KB, an update event under 2 KB, 20
consoles cost under 10 % of one core more than none.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

from demo.services import InfluxServer, MosquittoServer
from tests.harness import IngestProcess, Publisher, config_dict, envelope, reading, wait_for
from tests.ingest.web.console.web import log_in

GATEWAYS, PER_GATEWAY = 6, 50  # 300 devices
ALERTS = 50
KINDS = ("door", "temperature", "smoke", "temperature", "door")
PASSWORD = "bench password 1"


def _device(g: int, i: int) -> dict[str, Any]:
    kind = KINDS[i % len(KINDS)]
    tags = {"building": f"楼{g}", "room": f"{100 + i // 5}"}
    if kind == "temperature":
        tags["class"] = "refrigerator"
    return {"device": f"d{g}-{i}", "kind": kind, "name": f"设备 {g}-{i}", "tags": tags}


def _values(kind: str, rng: random.Random, alarm: bool = False) -> dict[str, Any]:
    if kind == "door":
        return {"open": False, "locked": True}
    if kind == "smoke":
        return {"smoke": alarm}
    return {"celsius": round(4 + rng.uniform(-1.5, 1.5), 2)}


def _campus(publisher: Publisher, root: str) -> None:
    """Meta of 300 devices, one reading each, and 50 smoke alarms firing."""
    rng = random.Random(7)
    now = int(time.time() * 1000)
    smoke_devices = [
        (g, i)
        for g in range(GATEWAYS)
        for i in range(PER_GATEWAY)
        if KINDS[i % len(KINDS)] == "smoke"
    ][:ALERTS]
    for g in range(GATEWAYS):
        devices = [_device(g, i) for i in range(PER_GATEWAY)]
        doc = {"v": 1, "gateway": f"gw{g}", "devices": devices}
        publisher.publish(f"{root}/sunshine-kg/gw{g}/meta", orjson.dumps(doc), retain=True)
        batch = [
            reading(d["device"], d["kind"], now, **_values(d["kind"], rng, (g, i) in smoke_devices))
            for i, d in enumerate(devices)
        ]
        publisher.publish(f"{root}/sunshine-kg/gw{g}/readings", envelope(f"gw{g}", 1, batch))


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Readings:
    """1,000 temperature readings/s over the campus's fridges, in 10 ms envelopes."""

    def __init__(self, port: int, root: str) -> None:
        self.pub = Publisher(port)
        self.root = root
        self.fridges = [
            (g, i)
            for g in range(GATEWAYS)
            for i in range(PER_GATEWAY)
            if KINDS[i % len(KINDS)] == "temperature"
        ]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        rng = random.Random(1)
        seq, n, next_at = 10, 0, time.perf_counter()
        while not self._stop.is_set():
            seq += 1
            now = int(time.time() * 1000)
            by_gateway: dict[int, list[dict[str, Any]]] = {}
            for _ in range(10):
                g, i = self.fridges[n % len(self.fridges)]
                n += 1
                by_gateway.setdefault(g, []).append(
                    reading(
                        f"d{g}-{i}", "temperature", now + n % 1000, **_values("temperature", rng)
                    )
                )
            self.pub.publish_many(
                (f"{self.root}/sunshine-kg/gw{g}/readings", envelope(f"gw{g}", seq, batch))
                for g, batch in by_gateway.items()
            )
            next_at += 0.01
            time.sleep(max(0.0, next_at - time.perf_counter()))

    def __enter__(self) -> Readings:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.pub.close()


def add_guard(ingest: IngestProcess) -> None:
    """Add the guard the consoles log in as (``campus-ingest users add``)."""
    command = [sys.executable, "-m", "ingest.cli", "users", "add", "--config"]
    command += [str(ingest.config_path), "guard", "--name", "张师傅", "--role", "guard"]
    subprocess.run(command, input=PASSWORD + "\n", text=True, check=True, capture_output=True)


class Console:
    """One open board: a logged-in client reading the live stream."""

    def __init__(self, api: str) -> None:
        self.client = httpx.Client(base_url=api, timeout=30)
        assert log_in(self.client, "guard", PASSWORD).status_code == 303
        self.events: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            self._stream()
        except httpx.HTTPError:
            if not self._stop.is_set():
                raise

    def _stream(self) -> None:
        with self.client.stream("GET", "/events") as stream:
            buffer = b""
            for chunk in stream.iter_bytes():
                buffer += chunk
                while b"\n\n" in buffer:
                    event, buffer = buffer.split(b"\n\n", 1)
                    self.events.append(event + b"\n\n")
                if self._stop.is_set():
                    return

    def close(self) -> None:
        self._stop.set()
        self.client.close()


def first_load(api: str, runs: int = 20) -> tuple[float, float, int]:
    """Median ms of ``GET /`` and of ``GET /api/health``, and the board's bytes."""
    with httpx.Client(base_url=api, timeout=30) as client:
        assert log_in(client, "guard", PASSWORD).status_code == 303
        board, health = [], []
        size = 0
        for _ in range(runs):
            started = time.perf_counter()
            answer = client.get("/")
            board.append((time.perf_counter() - started) * 1000)
            size = len(answer.content)
            assert answer.status_code == 200
            started = time.perf_counter()
            client.get("/api/health")
            health.append((time.perf_counter() - started) * 1000)
    return statistics.median(board), statistics.median(health), size


def pages_load(api: str, paths: list[str], runs: int = 5) -> list[tuple[str, float, int]]:
    """Median ms and bytes of each console page in ``paths``, logged in."""
    found = []
    with httpx.Client(base_url=api, timeout=60) as client:
        assert log_in(client, "guard", PASSWORD).status_code == 303
        for path in paths:
            times, size = [], 0
            for _ in range(runs):
                started = time.perf_counter()
                answer = client.get(path)
                times.append((time.perf_counter() - started) * 1000)
                assert answer.status_code == 200, (path, answer.status_code)
                size = len(answer.content)
            found.append((path, statistics.median(times), size))
    return found


def _console_pages() -> list[str]:
    yesterday = time.strftime("%Y-%m-%d", time.localtime(time.time() - 86_400))
    last_week = time.strftime("%G-W%V", time.localtime(time.time() - 7 * 86_400))
    return [
        "/device?site=sunshine-kg&gateway=gw0&device=d0-1",
        "/reports",
        f"/reports/weekly-usage/{last_week}",
        f"/reports/daily-readings/{yesterday}",
        f"/reports/cold-chain/{yesterday}",
    ]


def one_update(api: str, publisher: Publisher, root: str) -> int:
    """Bytes of the event that brings one door's opening to an open board."""
    console = Console(api)
    try:
        wait_for(lambda: any(e.startswith(b"retry") for e in console.events), 10)
        time.sleep(1.5)  # what the first rounds send (last-seen times) passes
        start = len(console.events)
        now = int(time.time() * 1000)
        door = reading("d0-0", "door", now, open=True, locked=False)
        publisher.publish(f"{root}/sunshine-kg/gw0/readings", envelope("gw0", 99, [door]))
        event = wait_for(
            lambda: next((e for e in console.events[start:] if b"door" in e), None), 10
        )
        return len(event)
    finally:
        console.close()


def cpu_with(
    api: str, pid: int, port: int, root: str, consoles: int, seconds: float
) -> tuple[float, float]:
    """% of one core the service used while readings flowed and ``consoles`` were open,
    and the KB/s each console received."""
    opened = [Console(api) for _ in range(consoles)]
    try:
        with Readings(port, root):
            time.sleep(3)  # warm up
            cpu, wall = _cpu_s(pid), time.monotonic()
            received = sum(sum(map(len, c.events)) for c in opened)
            time.sleep(seconds)
            elapsed = time.monotonic() - wall
            received = sum(sum(map(len, c.events)) for c in opened) - received
            per_console = received / max(consoles, 1) / elapsed / 1024
            return (_cpu_s(pid) - cpu) / elapsed * 100, per_console
    finally:
        for console in opened:
            console.close()


def main() -> None:
    """Run the measurements and print them beside their goals."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="campus-bench-console-") as tmp:
        work = Path(tmp)
        broker, influx = MosquittoServer(work / "mq"), InfluxServer(work / "influx")
        broker.start()
        influx.start()
        config = config_dict(work / "state", broker, influx)
        config["rules"] = [
            {
                "id": "smoke",
                "kind": "smoke",
                "when": {"field": "smoke", "eq": True},
                "severity": "critical",
            }
        ]
        # Every console of the benchmark logs in from 127.0.0.1 within a minute.
        config["console"] = {"logins_per_address": 100}
        ingest = IngestProcess(config, work)
        add_guard(ingest)
        ingest.start()
        root = config["mqtt"]["topic_root"]
        publisher = Publisher(broker.port)
        try:
            _campus(publisher, root)
            guard = {"Authorization": "Bearer guard-token-1"}
            wait_for(
                lambda: len(httpx.get(f"{ingest.api}/api/alerts", headers=guard).json()) >= ALERTS,
                30,
            )
            board_ms, health_ms, size = first_load(ingest.api)
            page_times = pages_load(ingest.api, _console_pages())
            update = one_update(ingest.api, publisher, root)
            assert ingest.proc is not None
            pid = ingest.proc.pid
            alone, _ = cpu_with(ingest.api, pid, broker.port, root, 0, args.seconds)
            watched, rate = cpu_with(ingest.api, pid, broker.port, root, 20, args.seconds)
        finally:
            publisher.close()
            ingest.stop()
            influx.stop()
            broker.stop()
    print(f"raw: GET /api/health on the same connection: {health_ms:.1f} ms")
    print(
        f"board first load, {GATEWAYS * PER_GATEWAY} devices and {ALERTS} active alerts: "
        f"{board_ms:.1f} ms, {size / 1024:.0f} KB (goals < 150 ms, < 200 KB)"
    )
    print(f"one live update (a door opens): {update} bytes (goal < 2 KB)")
    for path, ms, size in page_times:
        print(f"console page {path}: {ms:.1f} ms, {size / 1024:.0f} KB")
    print(
        f"service CPU at 1,000 readings/s: {alone:.1f} % of a core without consoles, "
        f"{watched:.1f} % with 20 open ({watched - alone:+.1f}, goal < +10);"
        f" each console received {rate:.1f} KB/s"
    )


if __name__ == "__main__":
    main()
