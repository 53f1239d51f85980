"""Hardening benchmark: what a hostile device or client costs ``campus-ingest run``.

Run with ``python -m tests.bench.bench_hostile`` (``make bench`` runs it too). Against a
service process on real mosquitto and influxd, it prints, beside the raw floor measured
in the same run (a smoke alarm on a quiet service):

- storm: the delay of a real smoke alarm published after one envelope of 1,000 fake ones
  from another gateway, at a webhook and at a WeCom-style robot (20 messages a minute),
  and how many messages the robot got;
- meta flood: the delay of a smoke alarm published after five 3.4 MB meta messages;
- body: the service's memory before and after ten unauthenticated 100 MB uploads;
- dead letters: the disk the dead-letter store takes after 200 refused 256 KiB payloads.

The issue measured before the fixes: storm 105 s at a webhook (~50 min at a robot),
meta flood 13 s, body 125 → 433 MB, dead letters 70 MB.
"""

from __future__ import annotations

import socket
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from demo.services import InfluxServer, MosquittoServer
from tests.harness import (
    SMOKE_RULE,
    IngestProcess,
    Publisher,
    config_dict,
    envelope,
    reading,
    wait_for,
)
from tests.receivers import HttpReceiver, http_receiver

SMOKE = {**SMOKE_RULE, "notify": ["siren", "patrol"]}


class Bench:
    """One service with a webhook and a robot, and the clock of the alarms it tells."""

    def __init__(self, work: Path, siren: HttpReceiver, robot: HttpReceiver) -> None:
        self.broker, self.influx = MosquittoServer(work / "mq"), InfluxServer(work / "influx")
        self.broker.start()
        self.influx.start()
        config = config_dict(work / "state", self.broker, self.influx)
        config["channels"] = {
            "siren": {"type": "webhook", "url": siren.url()},
            "patrol": {"type": "wecom", "url": robot.url()},
        }
        config["rules"] = [SMOKE]
        self.root = config["mqtt"]["topic_root"]
        self.ingest = IngestProcess(config, work)
        self.ingest.start()
        self.publisher = Publisher(self.broker.port)
        self.siren, self.robot = siren, robot
        self.seq: dict[str, int] = {}

    def topic(self, gateway: str, channel: str) -> str:
        return f"{self.root}/sunshine-kg/{gateway}/{channel}"

    def smoke(self, gateway: str, devices: list[str]) -> None:
        self.seq[gateway] = self.seq.get(gateway, 0) + 1
        now = int(time.time() * 1000)
        readings = [reading(d, "smoke", now, smoke=True) for d in devices]
        self.publisher.publish(
            self.topic(gateway, "readings"), envelope(gateway, self.seq[gateway], readings)
        )

    def told(self, receiver: HttpReceiver, device: str, since: float) -> float:
        """Seconds from ``since`` until ``receiver`` got a message naming ``device``."""
        hit = wait_for(
            lambda: next((r for r in receiver.requests if device in str(r.body)), None), 120
        )
        return float(hit.at - since)

    def alarm_delay(self, gateway: str, device: str) -> tuple[float, float]:
        started = time.perf_counter()
        self.smoke(gateway, [device])
        return self.told(self.siren, device, started), self.told(self.robot, device, started)

    def stop(self) -> None:
        self.publisher.close()
        self.ingest.stop()
        self.broker.stop()
        self.influx.stop()


def _storm(bench: Bench) -> dict[str, Any]:
    bench.smoke("gw-attic", [f"fake-{i:04d}" for i in range(1000)])
    wait_for(lambda: len(bench.siren.requests) >= 20, 30)
    before = len(bench.robot.requests)
    siren, robot = bench.alarm_delay("gw-hall", "smoke-hall")
    time.sleep(1)
    told = len(bench.robot.requests) - before
    return {"siren_s": siren, "robot_s": robot, "robot_messages": told}


def _meta_flood(bench: Bench) -> float:
    devices = [
        {
            "device": f"x{i:06d}",
            "kind": "temperature",
            "name": f"冷藏柜 x{i:06d}",
            "tags": {"room": "r" * 60},
        }
        for i in range(25_000)
    ]
    flood = orjson.dumps({"v": 1, "gateway": "gw-flood", "devices": devices})
    for _ in range(5):
        bench.publisher.publish(bench.topic("gw-flood", "meta"), flood)
    siren, _robot = bench.alarm_delay("gw-hall", "smoke-after-meta")
    return siren


def _uploads(bench: Bench) -> tuple[float, float]:
    before = bench.ingest.rss_mb()
    port = bench.ingest.config["api"]["port"]
    head = (
        b"POST /api/alerts/1/ack HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % (100 << 20)
    )
    chunk = b"x" * (1 << 20)
    for _ in range(10):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(head)
            try:
                for _ in range(100):
                    sock.sendall(chunk)
            except OSError:
                pass  # answered and closed before the body
    return before, bench.ingest.rss_mb()


def _dead_letters(bench: Bench) -> float:
    garbage = b"\xff" * (256 << 10)
    bench.publisher.publish_many([(bench.topic("gw-junk", "readings"), garbage)] * 200)
    time.sleep(2)
    folder = Path(bench.ingest.config["state_dir"]) / "deadletters"
    return sum(p.stat().st_size for p in folder.iterdir()) / (1 << 20)


def main() -> None:
    """Run the measurements and print them beside the floor and the issue's figures."""
    with (
        tempfile.TemporaryDirectory(prefix="campus-bench-hostile-") as tmp,
        http_receiver() as siren,
        http_receiver() as robot,
    ):
        bench = Bench(Path(tmp), siren, robot)
        try:
            floor = bench.alarm_delay("gw-hall", "smoke-quiet")
            storm = _storm(bench)
            meta = _meta_flood(bench)
            rss = _uploads(bench)
            letters = _dead_letters(bench)
        finally:
            bench.stop()
    print(
        f"floor: a smoke alarm on a quiet service reaches the webhook in {floor[0]:.3f} s, "
        f"the robot in {floor[1]:.3f} s"
    )
    print(
        f"storm: after 1,000 fake alarms the real one reaches the webhook in "
        f"{storm['siren_s']:.3f} s and the robot in {storm['robot_s']:.3f} s; the robot got "
        f"{storm['robot_messages']} message(s)   (before: 105 s at a webhook)"
    )
    print(
        f"meta flood: after five 3.4 MB metas a smoke alarm reaches the webhook in "
        f"{meta:.3f} s   (before: 13 s)"
    )
    print(
        f"uploads: memory {rss[0]:.0f} MB before, {rss[1]:.0f} MB after ten 100 MB "
        f"unauthenticated bodies   (before: 125 -> 433 MB)"
    )
    print(f"dead letters: 200 refused 256 KiB payloads take {letters:.1f} MB   (before: 70 MB)")


if __name__ == "__main__":
    main()
