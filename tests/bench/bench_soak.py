"""Soak (issue 24 §3): ``python -m tests.bench.bench_soak [--minutes 30] [--rate 1000]``.

A ``campus-gateway run`` process reads a simulated building at ``--rate`` readings/s and
publishes to real mosquitto; ``campus-ingest run`` stores them in real influxd while a
smoke alarm fires and clears every 10 s (told to a webhook) and five consoles keep the
live board open. Every 30 s it samples the ingest's and the gateway's RSS, open file
descriptors and threads, and the sizes of the spool, the dead letters, the SQLite files
and the derived-hours book. Prints the samples, the RSS slope after the warm-up (least
squares, MB per hour) and the range of every other figure.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

from demo.services import InfluxServer, MosquittoServer
from tests.bench.bench_console import Console, add_guard
from tests.gateway.harness import GatewayProcess, gateway_config
from tests.harness import SMOKE_RULE, IngestProcess, Publisher, config_dict, envelope, reading
from tests.receivers import http_receiver

SAMPLE_EVERY_S = 30.0
WARM_UP_S = 300.0
MAX_SLOPE_MB_H = 10.0  # a leak shows as more than this over half an hour
MAX_SPREAD = 8  # descriptors or threads: a reconnect or a pool may come and go


def _proc(pid: int) -> tuple[float, int, int]:
    """RSS (MB), open file descriptors and threads of a process."""
    status = Path(f"/proc/{pid}/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    rss = int(fields["VmRSS"].split()[0]) / 1024
    return rss, len(os.listdir(f"/proc/{pid}/fd")), int(fields["Threads"])


def _size_mb(*paths: Path) -> float:
    total = 0
    for path in paths:
        if path.is_dir():
            total += sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
        elif path.exists():
            total += path.stat().st_size
    return round(total / 2**20, 2)


def slope_mb_per_hour(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MB), in MB per hour."""
    n = len(samples)
    if n < 2:
        return 0.0
    mean_t = sum(t for t, _ in samples) / n
    mean_v = sum(v for _, v in samples) / n
    var = sum((t - mean_t) ** 2 for t, _ in samples)
    cov = sum((t - mean_t) * (v - mean_v) for t, v in samples)
    return cov / var * 3600 if var else 0.0


class Alarms:
    """A smoke detector of another gateway that fires and clears every 10 s."""

    def __init__(self, port: int, root: str) -> None:
        self.publisher = Publisher(port)
        self.topic = f"{root}/sunshine-kg/gw-alarm/readings"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        seq = 0
        while not self._stop.wait(10.0):
            seq += 1
            now = int(time.time() * 1000)
            on = seq % 2 == 1
            alarm = reading("smoke-soak", "smoke", now, smoke=on)
            self.publisher.publish(self.topic, envelope("gw-alarm", seq, [alarm]))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.publisher.close()


def _ingest(work: Path, broker: MosquittoServer, influx: InfluxServer, hook: str) -> IngestProcess:
    config = config_dict(
        work / "state",
        broker,
        influx,
        channels={"patrol": {"type": "webhook", "url": hook}},
        rules=[{**SMOKE_RULE, "notify": ["patrol"]}],
        console={"logins_per_address": 100},
    )
    ingest = IngestProcess(config, work)
    add_guard(ingest)
    ingest.start()
    return ingest


def _gateway(work: Path, broker: MosquittoServer, root: str, rate: int) -> GatewayProcess:
    kinds = ("temperature", "electricity", "water", "motion")
    # Half the rate, every 0.5 s; with the gateway's own health device within the
    # ingest's limits.devices_per_gateway (500).
    devices = [{"device": f"sim-{i}", "kind": kinds[i % 4]} for i in range(rate // 2 - 1)]
    source = {"type": "simulated", "seed": 5, "every_s": 0.5, "devices": devices}
    (work / "gw").mkdir()
    config = gateway_config(work / "gw", broker.port, root, [source], health_interval="30s")
    gateway = GatewayProcess(config, work / "gw")
    gateway.start()
    return gateway


def main() -> None:
    """Run the soak and print its samples and slopes."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--rate", type=int, default=1000, help="readings per second")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="campus-soak-") as tmp, http_receiver() as hook:
        work = Path(tmp)
        broker, influx = MosquittoServer(work / "mq"), InfluxServer(work / "influx")
        broker.start()
        influx.start()
        ingest = _ingest(work, broker, influx, hook.url())
        root = ingest.config["mqtt"]["topic_root"]
        gateway = _gateway(work, broker, root, args.rate)
        alarms = Alarms(broker.port, root)
        consoles = [Console(ingest.api) for _ in range(5)]
        state = work / "state"
        assert ingest.proc is not None
        assert gateway.proc is not None
        pids = {"ingest": ingest.proc.pid, "gateway": gateway.proc.pid}
        rows: list[dict[str, float]] = []
        began = time.monotonic()
        try:
            while (elapsed := time.monotonic() - began) < args.minutes * 60:
                row = {"t_s": round(elapsed)}
                for name, pid in pids.items():
                    row[f"{name}_rss_mb"], row[f"{name}_fds"], row[f"{name}_threads"] = _proc(pid)
                row["spool_mb"] = _size_mb(state / "spool")
                row["deadletters_mb"] = _size_mb(state / "deadletters")
                row["sqlite_mb"] = _size_mb(*state.glob("*.db*"))
                row["buffer_mb"] = _size_mb(*(work / "gw" / "buffer").glob("*"))
                row["hours_book_kb"] = _size_mb(state / "dirty-hours.json") * 1024
                row["told"] = float(len(hook.requests))
                rows.append(row)
                print("  ".join(f"{k}={v:g}" for k, v in row.items()), flush=True)
                time.sleep(SAMPLE_EVERY_S)
        finally:
            for console in consoles:
                console.close()
            alarms.close()
            gateway.stop()
            ingest.stop()
            broker.stop()
            influx.stop()
    sys.exit(0 if _summary(rows) else 1)


def _summary(rows: list[dict[str, float]]) -> bool:
    """Print the slopes and ranges after the warm-up; whether everything stayed flat:
    RSS growing under ``MAX_SLOPE_MB_H``, descriptors and threads within a few."""
    warm = [r for r in rows if r["t_s"] >= WARM_UP_S] or rows
    flat = True
    for name in ("ingest", "gateway"):
        slope = slope_mb_per_hour([(r["t_s"], r[f"{name}_rss_mb"]) for r in warm])
        flat &= slope < MAX_SLOPE_MB_H
        print(
            f"{name} RSS after warm-up: slope {slope:+.2f} MB/h "
            f"({warm[0][f'{name}_rss_mb']:.0f} -> {warm[-1][f'{name}_rss_mb']:.0f} MB)"
        )
    for key in rows[0]:
        if key != "t_s" and not key.endswith("rss_mb"):
            values = [r[key] for r in warm]
            print(f"{key}: {min(values):g} .. {max(values):g}")
            if key.endswith(("_fds", "_threads")):
                flat &= max(values) - min(values) <= MAX_SPREAD
    print("flat" if flat else "NOT FLAT")
    return flat


if __name__ == "__main__":
    main()
