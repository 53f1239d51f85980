"""A simulated campus's recent history, sent through the real ingest into influxd.

The sample kindergarten (three gateways, doors, smoke detectors, fridges, meters, a gate
camera) reports every 2 minutes for the last day, meters hourly for two weeks before,
and the gateways their health every 5 minutes. Twenty minutes ago the back door of room
101 was left open and the cold-chain power failed (the canteen's fridge, freezer and
sample fridge and the health room's medicine fridge warm up), so the rules engine raises
alerts whose lifecycle events are stored too.
"""

from __future__ import annotations

import random
import time
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from campuswatch.protocol import Meta, meta_topic, readings_topic, status_topic
from gateway.sources.simulated import SimulatedDevice, sample_campus
from ingest.app import IngestService
from tests.harness import Publisher, wait_for

SITE = "sunshine-kg"
TZ = ZoneInfo("Asia/Shanghai")
DAY_STEP_S = 120
HISTORY_STEP_S = 3600
FAILED_FOR_S = 20 * 60
FAILING = frozenset(
    {"door-main-101", "fridge-cold-1", "freezer-1", "sample-fridge", "medicine-fridge"}
)
RULES = [
    {
        "id": "door-open-after-hours",
        "kind": "door",
        "where": {"building": "main"},
        "when": {"any": [{"field": "open", "eq": True}, {"field": "locked", "eq": False}]},
        "for": "5m",
        "severity": "warning",
        "notify": ["patrol"],
    },
    {
        "id": "fridge-warm",
        "kind": "temperature",
        "where": {"class": "refrigerator"},
        "when": {"field": "celsius", "gt": 8},
        "for": "10m",
        "severity": "critical",
        "notify": ["patrol"],
    },
]


def _readings(
    devices: list[SimulatedDevice],
    start: float,
    end: float,
    step: float,
    kinds: set[str] | None = None,
) -> list[dict[str, Any]]:
    out = []
    ts = start
    while ts < end:
        for device in devices:
            if kinds is not None and device.info.kind not in kinds:
                continue
            if device.info.device in FAILING and ts >= end - FAILED_FOR_S:
                device.fail()
            out.append(
                {
                    "device": device.info.device,
                    "kind": device.info.kind,
                    "ts": int(ts * 1000),
                    "values": device.read(ts, TZ),
                }
            )
        ts += step
    return out


def _health(gateway: str, start: float, end: float, index: int) -> list[dict[str, Any]]:
    out = []
    for n, ts in enumerate(range(int(start), int(end), 300)):
        values = {
            "uptime_s": float(n * 300),
            "buffer_depth": float((n * 7 + index) % 40),
            "buffer_dropped": 0.0,
            "publish_errors": float(n // 100),
            "read_errors": float(n // 50),
            "devices_unavailable": float(n % 3 == 0),
            "cpu_temp_c": 48.0 + index + (n % 10) / 2,
        }
        out.append({"device": gateway, "kind": "gateway", "ts": ts * 1000, "values": values})
    return out


def send_campus(publisher: Publisher, root: str, service: IngestService) -> int:
    """Publish meta, status and history of every gateway; return the readings sent."""
    now = time.time()
    rng = random.Random(2026)
    campus = sample_campus()
    for gateway, infos in campus.items():
        meta = Meta(gateway=gateway, devices=infos)
        publisher.publish(
            meta_topic(root, SITE, gateway), meta.model_dump_json().encode(), retain=True
        )
        status = orjson.dumps({"state": "online", "ts": int(now * 1000), "version": "test"})
        publisher.publish(status_topic(root, SITE, gateway), status, retain=True)
    known = sum(len(infos) for infos in campus.values())
    wait_for(lambda: len(service.registry.devices()) >= known, 15)
    sent = 0
    for index, (gateway, infos) in enumerate(campus.items()):
        devices = [SimulatedDevice(info, rng) for info in infos]
        readings = _readings(
            devices, now - 15 * 86_400, now - 86_400, HISTORY_STEP_S, kinds={"electricity", "water"}
        )
        readings += _readings(devices, now - 86_400, now, DAY_STEP_S)
        readings += _health(gateway, now - 86_400, now, index)
        readings.sort(key=lambda r: r["ts"])
        envelopes = [
            orjson.dumps(
                {"v": 1, "gateway": gateway, "seq": seq, "readings": readings[i : i + 500]}
            )
            for seq, i in enumerate(range(0, len(readings), 500), int(now * 1000))
        ]
        publisher.publish_many((readings_topic(root, SITE, gateway), e) for e in envelopes)
        sent += len(readings)
    return sent
