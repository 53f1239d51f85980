"""Weeks of simulated meter and fridge history for the demo, so reports mean something at once.

Written straight into InfluxDB before the service starts (as if a previous install had
stored it); the service's first rollup pass then builds the hourly use buckets from it.
Each meter's history ends just below the value its live simulated gateway starts from, so
the first live reading continues the counter instead of looking like a reset. Fridges are
written at their 10 s interval for the last three days, every 5 minutes before. Two events
make the reports tell something: the main water meter has leaked for the last two weeks
(water never stops flowing at night) and the canteen fridge was left open for 25 minutes
yesterday at 11:30.
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from campuswatch.protocol import DeviceInfo
from gateway.sources.simulated import SimulatedDevice, sample_campus
from ingest.storage.influx import InfluxClient
from ingest.storage.lineprotocol import encode_point

LIVE_START = {"electricity": ("energy_kwh", 10_000.0), "water": ("volume_m3", 500.0)}
METER_STEP_S = 300
# Fridges every 10 s (their interval, so the cold-chain log holds each reading its full
# interval) for the last three days, every 5 minutes before that.
FRIDGE_STEP_S, FRIDGE_FINE_DAYS, FRIDGE_COARSE_STEP_S = 10, 3, 300
LEAK_M3H = 0.04
_BATCH = 5000
Points = list[tuple[float, dict[str, float]]]


def _series(
    info: DeviceInfo, start: float, end: float, step: int, seed: int, tz: ZoneInfo
) -> Points:
    device = SimulatedDevice(info, random.Random(seed))
    out = []
    t = start
    while t < end:
        values = device.read(t, tz)
        out.append((t, {k: float(v) for k, v in values.items() if isinstance(v, int | float)}))
        t += step
    return out


def _meter_points(info: DeviceInfo, start: float, end: float, seed: int, tz: ZoneInfo) -> Points:
    series = _series(info, start, end, METER_STEP_S, seed, tz)
    field, live = LIVE_START[info.kind]
    leak_from = end - 14 * 86_400  # so last week's report shows it whatever today is
    leaked = 0.0
    for t, values in series:
        if info.device == "water-main" and t >= leak_from:
            leaked += LEAK_M3H * METER_STEP_S / 3600
            values[field] += leaked
    # End just below where the live gateway starts counting.
    shift = live - series[-1][1][field] - 0.001
    for _, values in series:
        values[field] = round(values[field] + shift, 4)
    return series


def _fridge_points(info: DeviceInfo, start: float, end: float, seed: int, tz: ZoneInfo) -> Points:
    fine_from = end - FRIDGE_FINE_DAYS * 86_400
    series = _series(info, start, fine_from, FRIDGE_COARSE_STEP_S, seed, tz)
    series += _series(info, fine_from, end, FRIDGE_STEP_S, seed, tz)
    yesterday = datetime.fromtimestamp(end, tz).date() - timedelta(days=1)
    door_open = datetime.combine(yesterday, time(11, 30), tz).timestamp()
    if info.device == "fridge-cold-1":
        for t, values in series:
            if door_open <= t < door_open + 25 * 60:
                values["celsius"] = round(9.0 + (t - door_open) / 600, 2)
    return series


def write_history(client: InfluxClient, site: str, timezone: str, weeks: int, now: float) -> int:
    """Write ``weeks`` of history up to ``now`` for every meter and fridge; points written."""
    tz = ZoneInfo(timezone)
    start, end = now - weeks * 7 * 86_400, now - 60
    lines: list[str] = []
    for gateway, devices in sample_campus().items():
        for seed, info in enumerate(devices):
            if info.kind in LIVE_START:
                points = _meter_points(info, start, end, seed, tz)
            elif info.kind == "temperature":
                points = _fridge_points(info, start, end, seed, tz)
            else:
                continue
            tags = {"site": site, "gateway": gateway, "device": info.device, **info.tags}
            lines.extend(
                encode_point(info.kind, tags, values, int(t * 1000)) for t, values in points
            )
    client.create_database()
    for i in range(0, len(lines), _BATCH):
        client.write("\n".join(lines[i : i + _BATCH]).encode())
    return len(lines)
