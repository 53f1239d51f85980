"""Derived-data benchmark: a 100,000-reading backlog, from stored to rollups and buckets
current, and the CPU the dirty-hour book adds to the writer.

Run with ``python -m tests.bench.bench_derived`` (also in ``make bench``). An in-process
ingest on a fresh mosquitto and influxd receives a gateway's backlog of the last 84 hours
(50 meters and 50 fridges read every 5 minutes: 1,000 steps, 100,000 readings) as
1000-reading envelopes. Printed from one run:

- backlog stored -> every changed hour recomputed (rollups of both tiers and the hourly
  meter buckets; the open hour's 1-hour bucket provisional until it is over), beside
  the raw limit: the same recompute run directly, once, on the
  stored data (what the job costs without its coalescing wait);
- the book's CPU per stored reading (``DirtyHours.track``) beside the writer's own cost
  per reading (the ``/write`` of the same batches, gzip and HTTP included).
- one rollup round of a live hour (``--live-devices`` fridges, the hour's last 20 s just
  stored): the job's (the 5-minute buckets from the span that changed, the open hour
  from its 5-minute buckets), beside the version before's (the hour from all its raw
  points so far) and what every round did before issue 25 (both tiers of the whole hour
  from the raw points). An hour's raw points are now read once more when it is over.

Goals (issue #17): backlog current <= 60 s after it is stored; tracking <= 1 us/reading.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from campuswatch.clock import SystemClock
from demo.services import InfluxServer, MosquittoServer
from ingest.app import IngestService
from ingest.config import IngestConfig
from ingest.storage.dirty import DirtyHours
from ingest.storage.influx import InfluxClient
from ingest.storage.rollups import ROLLUP_OF, TIERS_S, RollupJob, derived_keys
from tests.clock import ManualClock
from tests.harness import Publisher, config_dict, count_points, wait_for

STEP_MS = 300_000
DEVICES = 50
CURRENT_GOAL_S, TRACK_GOAL_US = 60.0, 1.0


def _backlog(total: int) -> list[dict[str, Any]]:
    """Readings in time order: each 5-minute step, 50 meters then 50 fridges."""
    steps = -(-total // (2 * DEVICES))
    start = int(time.time() * 1000) - steps * STEP_MS  # the last reading is just now
    readings: list[dict[str, Any]] = []
    step = 0
    while len(readings) < total:
        ts = start + step * STEP_MS
        for i in range(DEVICES):
            readings.append(
                {
                    "device": f"meter-{i:02d}",
                    "kind": "electricity",
                    "ts": ts,
                    "values": {"energy_kwh": 1000.0 + step * 0.1 + i, "power_w": 500.0},
                }
            )
            readings.append(
                {
                    "device": f"fridge-{i:02d}",
                    "kind": "temperature",
                    "ts": ts,
                    "values": {"celsius": 4.0 + (step % 7) / 2},
                }
            )
        step += 1
    return readings[:total]


def backlog_to_current(workdir: Path, total: int) -> tuple[float, float, float]:
    """(seconds to store the backlog, seconds from stored to current, direct recompute s)."""
    broker, influxd = MosquittoServer(workdir / "mqtt"), InfluxServer(workdir / "influx")
    broker.start()
    influxd.start()
    config = config_dict(workdir / "state", broker, influxd)
    service = IngestService(IngestConfig.model_validate(config))
    service.start()
    assert service.wait_ready()
    publisher = Publisher(broker.port)
    db = InfluxClient(influxd.url, config["influx"]["database"])
    try:
        readings = _backlog(total)
        topic = f"{config['mqtt']['topic_root']}/sunshine-kg/gw-bench/readings"
        started = time.perf_counter()
        publisher.publish_many(
            (
                topic,
                orjson.dumps(
                    {
                        "v": 1,
                        "gateway": "gw-bench",
                        "seq": n + 1,
                        "readings": readings[i : i + 1000],
                    }
                ),
            )
            for n, i in enumerate(range(0, total, 1000))
        )
        expected = sum(1 for r in readings if r["kind"] == "electricity")
        wait_for(lambda: count_points(db, "electricity", "energy_kwh") == expected, 600, 0.5)
        wait_for(lambda: service.spool.pending_bytes() == 0, 600, 0.05)
        stored = time.perf_counter()
        wait_for(lambda: service.dirty.waiting() == 0, 600, 0.05)
        current = time.perf_counter()
        hours = len({r["ts"] // 3_600_000 for r in readings})
        assert count_points(db, "electricity_1h", "energy_kwh") == hours * DEVICES
        assert count_points(db, "electricity_usage_1h", "increase") == hours * DEVICES
        book = DirtyHours(None, derived_keys())
        book.track([_line(r).encode() for r in readings])
        direct = time.perf_counter()
        assert not RollupJob(db, SystemClock(), "Asia/Shanghai", book).recompute(book.take())
        direct_s = time.perf_counter() - direct
        return stored - started, current - stored, direct_s
    finally:
        publisher.close()
        service.stop()
        db.close()
        influxd.stop()
        broker.stop()


def _line(r: dict[str, Any]) -> str:
    fields = ",".join(f"{k}={v}" for k, v in r["values"].items())
    return f"{r['kind']},device={r['device']},gateway=gw-bench,site=sunshine-kg {fields} {r['ts']}"


def tracking_cost(workdir: Path, total: int) -> tuple[float, float]:
    """(book's us per reading, writer's /write us per reading) on the same records."""
    readings = _backlog(total)
    records = [
        "\n".join(_line(r) for r in readings[i : i + 50]).encode() for i in range(0, total, 50)
    ]  # one record per 50-reading envelope, as the handler spools them
    book = DirtyHours(None, derived_keys())
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        for i in range(0, len(records), 100):  # the writer's batches of ~5,000 readings
            book.track(records[i : i + 100])
        best = min(best, time.perf_counter() - started)
    influxd = InfluxServer(workdir / "influx-raw")
    influxd.start()
    client = InfluxClient(influxd.url, "trackbench")
    client.create_database()
    try:
        started = time.perf_counter()
        for i in range(0, len(records), 100):
            client.write(b"\n".join(records[i : i + 100]))
        write_s = time.perf_counter() - started
    finally:
        client.close()
        influxd.stop()
    return best / total * 1e6, write_s / total * 1e6


LIVE_ROUNDS = {
    "open hour from its 5-minute buckets": "this version's round",
    "hour from the raw points": "the version before",
    "whole hour, both tiers": "every round before issue 25",
}


def live_hour_cost(workdir: Path, devices: int, repeats: int = 3) -> dict[str, float]:
    """Seconds of one rollup round on a live hour, each way in ``LIVE_ROUNDS`` (the
    median of ``repeats``, the order alternated): ``devices`` fridges read every 10 s for
    its first 50 minutes, the last 20 s just stored, the clock at the 50th minute."""
    influxd = InfluxServer(workdir / "influx-live")
    influxd.start()
    db = InfluxClient(influxd.url, "livebench")
    db.create_database()
    hour_s = int(time.time()) // 3600 * 3600 - 3600
    rollup = ROLLUP_OF["temperature"]
    changed = (hour_s + 2980) // 300

    def job_round() -> None:
        book = DirtyHours(None, derived_keys())
        book.book([("temperature", changed)])
        clock = ManualClock(hour_s + 3000)
        assert not RollupJob(db, clock, "Asia/Shanghai", book).recompute(book.take(clock.time()))

    def hour_from_raw() -> None:
        rollup.compute(db, "5m", changed * 300, hour_s + 3600)
        rollup.compute(db, "1h", hour_s, hour_s + 3600)

    def whole_hour() -> None:
        for tier in TIERS_S:
            rollup.compute(db, tier, hour_s, hour_s + 3600)

    ways = dict(zip(LIVE_ROUNDS, (job_round, hour_from_raw, whole_hour), strict=True))
    try:
        for second in range(0, 3000, 10):
            db.write(
                "\n".join(
                    f"temperature,device=fridge-{d},gateway=gw,site=s celsius={4 + d % 5}.5 "
                    f"{(hour_s + second) * 1000}"
                    for d in range(devices)
                ).encode()
            )
        whole_hour()  # the 5-minute buckets earlier rounds made, and a warm cache
        times: dict[str, list[float]] = {name: [] for name in ways}
        for repeat in range(repeats):
            for name in list(ways)[:: 1 if repeat % 2 == 0 else -1]:
                started = time.perf_counter()
                ways[name]()
                times[name].append(time.perf_counter() - started)
        return {name: statistics.median(seconds) for name, seconds in times.items()}
    finally:
        db.close()
        influxd.stop()


def main() -> None:
    """Run the measurements and print them beside their goals and raw limits."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readings", type=int, default=100_000)
    parser.add_argument("--live-devices", type=int, default=5_000, help="fridges of a live hour")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-derived-") as tmp:
        store_s, current_s, direct_s = backlog_to_current(Path(tmp), args.readings)
        track_us, write_us = tracking_cost(Path(tmp), args.readings)
        live = live_hour_cost(Path(tmp), args.live_devices)
    print(f"backlog of {args.readings:,} readings stored in {store_s:.1f} s")
    print(
        f"stored -> rollups and buckets current: {current_s:.1f} s "
        f"(goal <= {CURRENT_GOAL_S:.0f} s; the same recompute run directly: {direct_s:.1f} s)"
    )
    print(
        f"dirty-hour book: {track_us:.2f} us per reading (goal <= {TRACK_GOAL_US:.0f} us; "
        f"the writer's /write of the same batches: {write_us:.2f} us per reading)"
    )
    print(
        f"a rollup round of a live hour ({args.live_devices:,} fridges read every 10 s for "
        "50 min, the last 20 s changed; medians of 3, alternated):"
    )
    for name, seconds in live.items():
        print(f"  {name} ({LIVE_ROUNDS[name]}): {seconds:.2f} s")


if __name__ == "__main__":
    main()
