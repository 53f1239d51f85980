"""The demo campus: what its gateways simulate and how its ingest is configured.

Three buildings (gate house, canteen, main building) with simulated sources; a few seconds
in, the back door of room 101 is left open and unlocked and the canteen fridge's compressor
stops; the gate camera watches a drawn video in which someone walks past every 30 s. The
rules are those of SPEC §4 with hold times short enough to watch.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from campuswatch.protocol import DeviceInfo
from demo.services import InfluxServer, MosquittoServer
from demo.videos import walk, write_video
from gateway.sources.simulated import sample_campus

SITE = "sunshine-kg"
ROOT = "campus"
TIMEZONE = "Asia/Shanghai"
# The scenario: a few seconds in, the back door of room 101 is left open and unlocked
# and the canteen fridge's compressor stops.
SCENARIO = {"door-main-101": "6s", "fridge-cold-1": "6s"}
READING_EVERY_S = 2.0
HISTORY_WEEKS = 6
CAMERA_LOOP_S = 30.0
DEMO_REPORTS = {
    "weekly_usage": {"notify": ["director"]},
    "cold_chain": {"notify": ["canteen"]},
    "tariffs": {  # a time-of-use electricity tariff (峰/谷/平) and a water price, CNY
        "electricity": {
            "bands": [
                {"name": "峰", "from": "08:00", "to": "11:00", "price": 1.05},
                {"name": "峰", "from": "18:00", "to": "23:00", "price": 1.05},
                {"name": "谷", "from": "23:00", "to": "07:00", "price": 0.32},
            ],
            "default": 0.66,
        },
        "water": 4.1,
    },
}
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
# The names people read for the demo campus's buildings and rooms (SPEC §4 places).
PLACES = {
    "gate": "大门",
    "canteen": "食堂",
    "canteen/kitchen": "厨房",
    "main": "教学楼",
    "main/101": "小一班教室",
    "main/103": "储藏室",
    "main/1F": "一楼",
}


def camera_sources(workdir: Path, devices: list[DeviceInfo]) -> list[dict[str, Any]]:
    """The gate camera watches a drawn video of the gate, looping: someone walks past."""
    cameras = [d for d in devices if d.kind == "camera"]
    if not cameras:
        return []
    video = workdir / "gateways" / "gate-camera.avi"
    if not video.exists():
        video.parent.mkdir(parents=True, exist_ok=True)
        write_video(video, CAMERA_LOOP_S, walk(enter_s=8.0, cross_s=6.0))
    return [
        {
            "type": "camera",
            "devices": [
                {
                    "device": d.device,
                    "url": str(video),
                    "fps": 5,
                    "name": d.name,
                    "interval_s": d.interval_s,
                    "tags": d.tags,
                    "snapshot_every": "20s",
                }
                for d in cameras
            ],
        }
    ]


def gateway_config(workdir: Path, gateway: str, broker: MosquittoServer, seed: int) -> Path:
    """A ``campus-gateway`` config for one simulated building."""
    everything = sample_campus()[gateway]
    devices = [d for d in everything if d.kind != "camera"]
    config: dict[str, Any] = {
        "gateway": {"id": gateway, "site": SITE},
        "uplink": {"host": "127.0.0.1", "port": broker.port, "topic_root": ROOT},
        "buffer": {"path": str(workdir / "gateways" / f"{gateway}.db"), "max_mb": 64},
        "timezone": TIMEZONE,
        "sources": [
            {
                "type": "simulated",
                "seed": seed,
                "every_s": READING_EVERY_S,
                "fail": {d: at for d, at in SCENARIO.items() if d in {i.device for i in devices}},
                "devices": [d.model_dump(exclude_none=True) for d in devices],
            },
            *camera_sources(workdir, everything),
        ],
    }
    path = workdir / "gateways" / f"{gateway}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False))
    return path


def write_ingest_config(
    workdir: Path,
    broker: MosquittoServer,
    influx: InfluxServer,
    api_port: int,
    token: str,
    patrol_url: str,
) -> Path:
    config: dict[str, Any] = {
        "site": {"id": SITE, "name": "阳光幼儿园 (demo)", "timezone": TIMEZONE},
        "mqtt": {
            "host": "127.0.0.1",
            "port": broker.port,
            "topic_root": ROOT,
            "client_id": "campus-ingest-demo",
        },
        "influx": {"url": influx.url, "database": "campus"},
        "api": {
            "host": "127.0.0.1",
            "port": api_port,
            "tokens": [{"name": "值班室", "token": token, "role": "admin"}],
            "public_url": f"http://127.0.0.1:{api_port}",
        },
        "state_dir": str(workdir / "ingest"),
        "places": PLACES,
        **alerting(patrol_url),
        "reports": DEMO_REPORTS,
        "duty": DEMO_DUTY,
    }
    path = workdir / "ingest.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False))
    return path


def alerting(patrol_url: str) -> dict[str, Any]:
    """The SPEC §4 rules, with hold times short enough to watch in a demo; the patrol's
    notifications go to ``patrol_url`` (a webhook the demo prints, with its ack links)."""
    today = datetime.now(ZoneInfo(TIMEZONE)).date().isoformat()
    door = {"any": [{"field": "open", "eq": True}, {"field": "locked", "eq": False}]}
    return {
        "schedules": {"school_hours": {"days": [*WEEKDAYS], "from": "07:00", "to": "18:00"}},
        # The demo declares today a holiday so the after-hours door rule applies whenever
        # it runs; a real campus lists its holidays and make-up days here.
        "calendar": {"closed": [today]},
        "channels": {
            "patrol": {"type": "webhook", "url": patrol_url},
            "canteen": {"type": "webhook", "url": patrol_url},
            "director": {"type": "log"},
        },
        "rules": [
            {
                "id": "door-open-after-hours",
                "kind": "door",
                "where": {"building": "main"},
                "when": door,
                "active": {"outside": "school_hours"},
                "for": "20s",
                "severity": "warning",
                "notify": ["patrol"],
                "repeat": "15m",
            },
            {
                "id": "fridge-warm",
                "kind": "temperature",
                "where": {"class": "refrigerator"},
                "when": {"field": "celsius", "gt": 8},
                "for": "20s",
                "severity": "critical",
                "notify": ["canteen"],
            },
            {
                "id": "freezer-warm",
                "kind": "temperature",
                "where": {"class": "freezer"},
                "when": {"field": "celsius", "gt": -12},
                "for": "30s",
                "severity": "critical",
                "notify": ["canteen"],
            },
            {
                "id": "smoke",
                "kind": "smoke",
                "when": {"field": "smoke", "eq": True},
                "severity": "critical",
                "notify": ["patrol"],
            },
            {
                "id": "person-at-gate-after-hours",
                "title": "门口有人",
                "kind": "camera",
                "where": {"building": "gate"},
                "when": {"field": "persons", "ge": 1},
                "active": {"outside": "school_hours"},
                "severity": "warning",
                "notify": ["patrol"],
                # Once in 10 minutes, not when the person has gone: no flood in a chat.
                "once_per": "10m",
                "tell_resolved": False,
            },
            {
                "id": "camera-tampered",
                "title": "摄像头被遮挡或移动",
                "kind": "camera",
                "when": {
                    "any": [{"field": "tamper", "eq": True}, {"field": "online", "eq": False}]
                },
                "for": "1m",
                "severity": "warning",
                "notify": ["patrol"],
            },
            {"id": "sensor-silent", "kind": "*", "silent_for": "3x", "notify": ["patrol"]},
            {"id": "gateway-offline", "gateway_offline": "2m", "notify": ["patrol"]},
            {"id": "round-missed", "round_missed": "night-round", "notify": ["patrol"]},
            {"id": "sample-excursion", "sample_excursion": True, "notify": ["canteen"]},
        ],
    }


# The duty books of the demo campus (SPEC §11): two shifts, three checkpoints walked three
# times a night, the gate camera for visitors; the demo puts its guard on today's shifts.
DEMO_DUTY: dict[str, Any] = {
    "shifts": {"day": {"from": "07:00", "to": "19:00"}, "night": {"from": "19:00", "to": "07:00"}},
    "fallback": ["patrol"],
    "checkpoints": [
        {"id": "gate", "name": "大门", "place": "gate"},
        {"id": "kitchen", "name": "厨房", "place": "canteen/kitchen"},
        {"id": "main-1f", "name": "教学楼一楼", "place": "main/1F"},
    ],
    "rounds": [
        {
            "id": "night-round",
            "name": "夜间巡逻",
            "at": ["21:00", "23:30", "05:30"],
            "within": "45m",
            "checkpoints": ["gate", "kitchen", "main-1f"],
        }
    ],
    "visitor_camera": "cam-gate",
}


# People of the demo (campus-ingest users add): a guard and an administrator.
DEMO_PEOPLE = (("guard", "值班 张师傅", "guard"), ("admin", "后勤 王主任", "admin"))
