"""Dashboard query benchmark: every panel over 30 days of a 300-device campus.

Run with ``python -m tests.bench.bench_dashboards`` (also in ``make bench``). Fills a fresh
influxd with 30 days of one-minute readings of 300 devices (doors, smoke detectors,
fridges, meters, cameras, gateways; about 13 million points), then runs each panel's
query the way Grafana would with the dashboard set to the last 30 days (panels with a
relative time of their own keep it) and prints the median of three runs beside the raw
limit: the same influxd counting every point of the largest measurement.

Goal (issue #7): <= 200 ms per panel.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from campuswatch.clock import SystemClock
from dashboards.build import DASHBOARDS
from demo.services import InfluxServer
from ingest.storage.dirty import DirtyHours
from ingest.storage.influx import InfluxClient
from ingest.storage.rollups import RollupJob
from tests.dashboards import grafana
from tests.dashboards.campus import TZ

SITE = "sunshine-kg"
GOAL_MS = 200.0
# kind -> (devices, line-protocol fields for step n of device i)
MIX: dict[str, int] = {
    "door": 100,
    "smoke": 20,
    "temperature": 60,
    "electricity": 60,
    "water": 30,
    "camera": 10,
    "gateway": 20,
}
BUILDINGS = ("main", "canteen", "gate", "dorm", "gym")
CLASSES = ("refrigerator", "freezer", "sample_fridge")


def _fields(kind: str, i: int, n: int) -> str:
    minute_of_day = n % 1440
    night = minute_of_day < 360 or minute_of_day > 1200
    if kind == "door":
        is_open = (n + i) % 97 == 0 or (not night and (n + i) % 11 == 0)
        return f"open={int(is_open)}i,locked={int(night and not is_open)}i,battery={90 - i % 50}"
    if kind == "smoke":
        return f"smoke={int(n % 50_000 == i)}i,battery_low=0i"
    if kind == "temperature":
        base = -20.0 if CLASSES[i % 3] == "freezer" else 4.0
        return f"celsius={base + ((n + i) % 30) / 10},humidity=60"
    if kind == "electricity":
        power = 1500 if night else 9500
        return f"energy_kwh={10_000 + n * (0.02 + i / 1000):.3f},power_w={power}"
    if kind == "water":
        return f"volume_m3={500 + n * 0.001:.4f},flow_m3h={0.0 if night else 0.8}"
    if kind == "camera":
        persons = 0 if (n + i) % 13 else 1 + i % 3
        return f"motion={int(persons > 0)}i,persons={persons}i"
    return (
        f"uptime_s={n * 60}.0,buffer_depth={n % 40}.0,buffer_dropped=0.0,publish_errors=0.0,"
        f"read_errors={n // 1000}.0,devices_unavailable={n % 2}.0,cpu_temp_c={48 + n % 7}.0"
    )


def _tags(kind: str, i: int) -> str:
    device = f"{kind}-{i}" if kind != "gateway" else f"gw-{i}"
    gateway = f"gw-{i % MIX['gateway']}"
    tags = f"device={device},gateway={gateway},site={SITE}"
    if kind != "gateway":
        tags = f"building={BUILDINGS[i % len(BUILDINGS)]},{tags}"
        if kind == "temperature":
            tags = f"class={CLASSES[i % 3]},{tags}"
    return tags


def fill(client: InfluxClient, days: int) -> int:
    """Write ``days`` of one-minute readings of every device; return the points written."""
    end_min = int(time.time() // 60)
    start_min = end_min - days * 1440
    series = [(kind, i, _tags(kind, i)) for kind, count in MIX.items() for i in range(count)]
    written, batch = 0, []
    for minute in range(start_min, end_min):
        n = minute - start_min
        ts = minute * 60_000
        for kind, i, tags in series:
            batch.append(f"{kind},{tags} {_fields(kind, i, n)} {ts}")
        if len(batch) >= 5000:
            client.write("\n".join(batch).encode())
            written += len(batch)
            batch = []
    if batch:
        client.write("\n".join(batch).encode())
        written += len(batch)
    alerts = [
        f"alert_event,device=door-{i},rule=door-open-after-hours,severity=warning,site={SITE},"
        f'state=firing active=1,alert_id="{i}",title="门未上锁",message="后门已持续 {i} 分钟" '
        f"{(end_min - 600 + i) * 60_000}"
        for i in range(100)
    ]
    client.write("\n".join(alerts).encode())
    return written + len(alerts)


def _time(client: InfluxClient, query: str) -> tuple[float, int]:
    runs, rows = [], 0
    for _ in range(3):
        started = time.perf_counter()
        rows = len(client.query(query))
        runs.append((time.perf_counter() - started) * 1000)
    return statistics.median(runs), rows


def main() -> None:
    """Fill influxd, run every panel's query, print the times."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="campus-dash-bench-") as tmp:
        influx = InfluxServer(Path(tmp) / "influxd")
        influx.start()
        client = InfluxClient(influx.url, "campus")
        try:
            client.create_database()
            started = time.perf_counter()
            points = fill(client, args.days)
            print(f"wrote {points:,} points in {time.perf_counter() - started:.0f} s")
            started = time.perf_counter()
            RollupJob(client, SystemClock(), "Asia/Shanghai", DirtyHours(None, ())).backfill()
            print(f"rollups computed by the service's job in {time.perf_counter() - started:.0f} s")
            raw_ms, _ = _time(client, 'SELECT count("open") FROM "door"')
            door_points = MIX["door"] * args.days * 1440
            print(f"raw: count over all {door_points:,} door points: {raw_ms:.0f} ms")
            worst = 0.0
            now = datetime.now(UTC)
            variables = {"site": SITE, "building": ".*", "tz": "Asia/Shanghai"}
            for board in DASHBOARDS:
                for panel in board.panels:
                    start, end = grafana.time_range(panel.time_from or f"{args.days}d", now, TZ)
                    elapsed = max(
                        _time(
                            client,
                            grafana.substitute(
                                t.query,
                                start,
                                end,
                                variables,
                                panel.min_interval,
                                panel.max_data_points,
                            ),
                        )[0]
                        for t in panel.targets
                    )
                    worst = max(worst, elapsed)
                    flag = "" if elapsed <= GOAL_MS else "  over the goal"
                    print(f"{elapsed:8.0f} ms  {board.uid}: {panel.title}{flag}")
            print(f"slowest panel: {worst:.0f} ms (goal <= {GOAL_MS:.0f} ms)")
        finally:
            client.close()
            influx.stop()


if __name__ == "__main__":
    main()
