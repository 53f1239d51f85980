"""Gateway benchmark: CPU per reading and peak RSS with the buffer on; drain after an outage.

Run with ``make bench`` (or ``python -m tests.bench.bench_gateway``). One run prints the
raw limits beside the gateway's figures:

- raw: the same 500-reading envelopes published by paho from memory at QoS 1 (no
  buffer), readings/s; and SQLite (WAL, synchronous=FULL) commits/s on this disk;
- steady load: ``campus-gateway run`` with a simulated source (the simulation's own cost
  included) publishing to mosquitto: CPU seconds of the process per reading, peak RSS;
- drain: the buffer filled during a broker outage, then the broker back: backlog
  readings/s from the gateway's start until a subscriber has every backlog reading,
  while live readings keep flowing.

Goals (issue #3): <= 50 us CPU per reading, RSS <= 80 MB, drain >= 10,000 readings/s.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import threading
import time
from pathlib import Path

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from demo.services import MosquittoServer
from tests.gateway.harness import GatewayProcess, gateway_config, simulated
from tests.harness import unique, wait_for

ROOT = "bench"


class Counter:
    """Subscribes to every gateway's readings and counts readings by timestamp."""

    def __init__(self, port: int) -> None:
        self.total = 0
        self.before = 0  # readings with ts < self.cutoff_ms
        self.cutoff_ms = 0
        self._lock = threading.Lock()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=unique("count-"))
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.subscribe(f"{ROOT}/#", qos=1)
        self.client.loop_start()

    def _on_message(self, _c: object, _u: object, message: mqtt.MQTTMessage) -> None:
        if not message.topic.endswith("/readings"):
            return
        stamps = [r["ts"] for r in orjson.loads(message.payload)["readings"]]
        with self._lock:
            self.total += len(stamps)
            self.before += sum(1 for ts in stamps if ts < self.cutoff_ms)

    def close(self) -> None:
        """Disconnect."""
        self.client.disconnect()
        self.client.loop_stop()


def raw_publish(port: int, envelopes: int = 200) -> float:
    """Readings/s of 500-reading envelopes published by paho at QoS 1 straight from memory."""
    readings = [
        {
            "device": f"sim-{i % 50}",
            "kind": "temperature",
            "ts": 1_795_459_200_000 + i,
            "values": {"celsius": 4.2, "humidity": 60.1},
        }
        for i in range(500)
    ]
    payload = orjson.dumps({"v": 1, "gateway": "gw-raw", "seq": 1, "readings": readings})
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=unique("raw-"))
    client.max_inflight_messages_set(20)
    client.connect("127.0.0.1", port)
    client.loop_start()
    started = time.perf_counter()
    infos = [client.publish(f"{ROOT}/raw/readings", payload, qos=1) for _ in range(envelopes)]
    for info in infos:
        info.wait_for_publish(60)
    elapsed = time.perf_counter() - started
    client.disconnect()
    client.loop_stop()
    return envelopes * 500 / elapsed


def raw_commits(workdir: Path, commits: int = 300) -> float:
    """Commits/s of SQLite in WAL mode with synchronous=FULL (one fsync each) on this disk."""
    db = sqlite3.connect(workdir / "raw.db", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE t (body BLOB)")
    started = time.perf_counter()
    for _ in range(commits):
        db.execute("INSERT INTO t VALUES (?)", (b"x" * 120,))
    elapsed = time.perf_counter() - started
    db.close()
    return commits / elapsed


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100  # utime + stime, clock ticks


def _peak_rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    kb = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(kb) / 1024


def steady(
    broker: MosquittoServer, workdir: Path, seconds: float, rate: int
) -> tuple[float, float, int]:
    """(CPU us per reading, peak RSS MB, readings) of a gateway producing ``rate`` readings/s."""
    workdir.mkdir(parents=True)
    config = gateway_config(workdir, broker.port, ROOT, [simulated(rate // 10, 0.1)])
    gateway = GatewayProcess(config, workdir)
    counter = Counter(broker.port)
    try:
        gateway.start()
        assert gateway.proc is not None
        pid = gateway.proc.pid
        time.sleep(2)  # start-up is not steady state
        cpu_before, delivered_before = _cpu_s(pid), counter.total
        time.sleep(seconds)
        cpu, delivered = _cpu_s(pid) - cpu_before, counter.total - delivered_before
        rss = _peak_rss_mb(pid)
        gateway.stop()
    finally:
        counter.close()
    return cpu / delivered * 1e6, rss, delivered


def drain(workdir: Path, outage_s: float, rate: int) -> tuple[int, float, int]:
    """(backlog readings, seconds to deliver them, live readings meanwhile) after an outage."""
    workdir.mkdir(parents=True)
    broker = MosquittoServer(workdir / "mq-drain")
    config = gateway_config(workdir, broker.port, ROOT, [simulated(rate // 10, 0.1)])
    gateway = GatewayProcess(config, workdir)
    gateway.start()  # the broker is not there: everything goes into the buffer
    time.sleep(outage_s)
    backlog = gateway.stop()
    broker.start()
    counter = Counter(broker.port)
    try:
        time.sleep(0.5)
        counter.cutoff_ms = int(time.time() * 1000)
        started = time.perf_counter()
        gateway.start()
        wait_for(lambda: counter.before >= backlog, 300, interval=0.02)
        elapsed = time.perf_counter() - started
        live = counter.total - counter.before
        gateway.stop()
    finally:
        counter.close()
        broker.stop()
    return backlog, elapsed, live


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20, help="steady-load duration")
    parser.add_argument("--rate", type=int, default=2000, help="simulated readings/s")
    parser.add_argument("--outage", type=float, default=40, help="broker outage, seconds")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="campus-gw-bench-") as tmp:
        work = Path(tmp)
        broker = MosquittoServer(work / "mq")
        broker.start()
        try:
            raw_rate = raw_publish(broker.port)
            commits = raw_commits(work)
            cpu_us, rss, readings = steady(broker, work / "steady", args.seconds, args.rate)
        finally:
            broker.stop()
        backlog, seconds, live = drain(work / "drain", args.outage, args.rate)
    print(f"raw paho QoS 1 publish, 500-reading envelopes:  {raw_rate:>10,.0f} readings/s")
    print(f"raw SQLite WAL commits (synchronous=FULL):      {commits:>10,.0f} commits/s")
    print(
        f"gateway at {args.rate:,} readings/s for {args.seconds:.0f} s ({readings:,} readings):"
        f" {cpu_us:.1f} us CPU per reading (goal <= 50), peak RSS {rss:.0f} MB (goal <= 80)"
    )
    print(
        f"drain after a {args.outage:.0f} s outage: {backlog:,} backlog readings in {seconds:.2f} s"
        f" = {backlog / seconds:,.0f} readings/s (goal >= 10,000), start-up included;"
        f" {live:,} live readings delivered meanwhile"
    )


if __name__ == "__main__":
    main()
