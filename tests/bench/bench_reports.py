"""Report benchmark: the weekly usage report over 10 million meter readings, and a
cold-chain day of 50 fridges.

Run with ``python -m tests.bench.bench_reports`` (also in ``make bench``). Fills a fresh
influxd with 200 meters (150 electricity, 50 water) read every minute for the five weeks
2026-W43..W47 (10.08 million points) and 50 fridges read every 30 s on one day (144,000
points), builds the hourly use buckets the way the service's backfill does, then times
the reports (median of three) beside the raw limit: the same influxd counting, and
returning, the raw points of one week.

Goals (issue #5): weekly report <= 2 s, cold-chain day <= 1 s.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from campuswatch.protocol import DeviceInfo
from demo.services import InfluxServer
from ingest.config.places import Places
from ingest.config.reports import ReportsConfig
from ingest.registry import Registry
from ingest.reports.cold_chain import ColdChainReports
from ingest.reports.meters import MeterStore
from ingest.reports.usage import UsageReports
from ingest.rules.store import AlertStore
from ingest.storage.influx import InfluxClient
from ingest.storage.meter_hours import MeterHours
from tests.clock import ManualClock
from tests.ingest.reports.data import GATEWAY, SITE, local

START = local("2026-10-19 00:00")  # Monday of 2026-W43
WEEK_S = 7 * 86_400
BATCH = 5000
WEEKLY_GOAL_S, COLD_GOAL_S = 2.0, 1.0


def _meter_lines(i: int, weeks: int) -> list[str]:
    kind, field = ("electricity", "energy_kwh") if i < 150 else ("water", "volume_m3")
    head = f"{kind},site={SITE},gateway={GATEWAY},device=meter-{i:03d},building=b{i % 8}"
    t0 = int(START.timestamp())
    value, rate, lines = 1000.0 + i, 0.01 + i / 10_000, []
    for n in range(weeks * 7 * 1440):
        minute = n % 1440
        value += rate * (4 if 480 <= minute < 1080 else 1)  # daytime use four times the night
        lines.append(f"{head} {field}={value:.4f} {(t0 + n * 60) * 1000}")
    return lines


def _fridge_lines(i: int) -> list[str]:
    head = f"temperature,site={SITE},gateway={GATEWAY},device=fridge-{i:02d},class=refrigerator"
    t0 = int(local("2026-11-22 00:00").timestamp())
    return [
        f"{head} celsius={4 + (n % 20) / 4 + (6 if n % 997 == i else 0)} {(t0 + n * 30) * 1000}"
        for n in range(2880)
    ]


def fill(client: InfluxClient, weeks: int) -> int:
    """Write the meters and fridges; the number of points."""
    total = 0
    for lines in [_meter_lines(i, weeks) for i in range(200)] + [
        _fridge_lines(i) for i in range(50)
    ]:
        for j in range(0, len(lines), BATCH):
            client.write("\n".join(lines[j : j + BATCH]).encode())
        total += len(lines)
    return total


def registry(path: Path) -> Registry:
    """The gateway's meta: names and intervals of every device."""
    reg = Registry(path, ManualClock(0))
    devices = [
        DeviceInfo(
            device=f"meter-{i:03d}",
            kind="electricity" if i < 150 else "water",
            name=f"{i} 号表",
            interval_s=60,
            tags={"building": f"b{i % 8}"},
        )
        for i in range(200)
    ] + [
        DeviceInfo(
            device=f"fridge-{i:02d}",
            kind="temperature",
            name=f"冷藏柜 {i}",
            interval_s=30,
            tags={"class": "refrigerator"},
        )
        for i in range(50)
    ]
    reg.update_meta(SITE, GATEWAY, devices)
    return reg


def median_s(run: Callable[[], object]) -> float:
    """Median wall time of three runs."""
    times = []
    for _ in range(3):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    """Fill influxd, build the buckets, time the reports, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--weeks", type=int, default=5, help="weeks of meter history (default 5)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = InfluxServer(Path(tmp) / "influxd")
        server.start()
        try:
            run(server, Path(tmp), args.weeks)
        finally:
            server.stop()


def run(server: InfluxServer, tmp: Path, weeks: int) -> None:
    """The benchmark proper."""
    client = InfluxClient(server.url, "campus", timeout_s=300)
    client.create_database()
    started = time.perf_counter()
    points = fill(client, weeks)
    elapsed = time.perf_counter() - started
    print(f"wrote {points:,} points in {elapsed:.0f} s ({points / elapsed:,.0f} points/s)")

    hours = MeterHours(client, "Asia/Shanghai")
    started = time.perf_counter()
    end = int(START.timestamp()) + weeks * WEEK_S
    for day in range(int(START.timestamp()), end, 86_400):
        hours.refresh(day, day + 86_400)
    print(
        f"hourly use buckets built from the raw data in {time.perf_counter() - started:.0f} s"
        " (the service does this once, at its first start)"
    )

    week = f"2026-W{42 + weeks}"
    week_start = end - WEEK_S
    count = (
        f"SELECT count(energy_kwh) FROM electricity WHERE time >= {week_start}s AND time < {end}s"
    )
    raw_count_s = median_s(lambda: client.query(count))
    started = time.perf_counter()
    raw_rows = client.query(
        f"SELECT energy_kwh FROM electricity WHERE time >= {week_start}s AND time < {end}s"
        " GROUP BY device"
    )
    raw_fetch_s = time.perf_counter() - started
    print(
        f"raw: count of one week's {raw_rows.__len__():,} electricity points: "
        f"{raw_count_s * 1000:.0f} ms; returning them: {raw_fetch_s:.1f} s"
    )

    clock = ManualClock(local("2026-11-25 09:00").timestamp())
    reg = registry(tmp / "registry.json")
    usage = UsageReports(
        MeterStore(client, reg), hours, ReportsConfig(), "Asia/Shanghai", "zh", clock
    )
    report = usage.weekly(week)
    weekly_s = median_s(lambda: usage.weekly(week))
    print(
        f"weekly usage {week}, {len(report.meters)} meters over {weeks} weeks: "
        f"{weekly_s:.2f} s (goal <= {WEEKLY_GOAL_S:.0f} s)"
    )

    alerts = AlertStore(tmp / "alerts.db", "bench")
    alerts.open()
    cold = ColdChainReports(client, reg, alerts, ReportsConfig().class_limits(), "Asia/Shanghai")
    day = cold.day("2026-11-22")
    cold_s = median_s(lambda: cold.day("2026-11-22"))
    readings = sum(d.readings for d in day.devices)
    print(
        f"cold-chain day, {len(day.devices)} fridges, {readings:,} readings: "
        f"{cold_s:.2f} s (goal <= {COLD_GOAL_S:.0f} s)"
    )
    alerts.close()

    from ingest.reports import render  # noqa: PLC0415
    from ingest.reports.charts import weekly_charts  # noqa: PLC0415
    from ingest.reports.pages import weekly_page  # noqa: PLC0415

    def page() -> str:
        return render.page_html(
            weekly_page(report, Places(), "zh", weekly_charts(report, "zh")), ""
        )

    html_s = median_s(page)
    print(f"weekly HTML page with its charts: {html_s:.2f} s")


if __name__ == "__main__":
    main()
