"""Simulated devices with plausible behaviour, for the demo and for tests.

Each device produces a reading from its previous state and the time: fridges drift
around their set point (and a canteen fridge warms while its door is open), meters
count up with a day/night load profile, doors open now and then during the day.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from gateway.clock import Clock
from gateway.config import SimulatedSource as SimulatedSourceConfig
from gateway.protocol import DeviceInfo, FieldValue, Kind
from gateway.sources.base import Emit, PollingThread, make_reading

_SET_POINTS = {"refrigerator": 4.0, "sample_fridge": 3.0, "freezer": -20.0, "medicine_fridge": 5.0}


@dataclass
class SimulatedDevice:
    """One simulated device and its evolving state."""

    info: DeviceInfo
    rng: random.Random
    state: dict[str, float] = field(default_factory=dict)

    def read(self, ts: float, tz: ZoneInfo) -> dict[str, FieldValue]:
        """The device's values at epoch seconds ``ts``."""
        hour = datetime.fromtimestamp(ts, tz).hour + datetime.fromtimestamp(ts, tz).minute / 60
        kind = self.info.kind
        if kind == "temperature":
            return self._temperature()
        if kind == "electricity":
            return self._electricity(ts, hour)
        if kind == "water":
            return self._water(ts, hour)
        if kind == "door":
            return self._door(hour)
        if kind == "smoke":
            return {"smoke": False, "battery_low": False}
        return {"uptime_s": ts - self.state.setdefault("started", ts)}

    def fail(self) -> None:
        """Scenario: a door is left open and unlocked, a fridge's compressor stops."""
        self.state["failed"] = 1.0

    def _temperature(self) -> dict[str, FieldValue]:
        target = _SET_POINTS.get(self.info.tags.get("class", ""), 20.0)
        if self.state.get("failed"):
            target = 18.0  # warming towards the kitchen's temperature
        now = self.state.get("celsius", target)
        now += (target - now) * 0.1 + self.rng.gauss(0, 0.3)
        self.state["celsius"] = now
        return {"celsius": round(now, 2), "humidity": round(60 + self.rng.gauss(0, 2), 1)}

    def _load(self, hour: float, base: float, peak: float) -> float:
        day = max(0.0, math.sin((hour - 6) / 14 * math.pi)) if 6 <= hour <= 20 else 0.0
        return base + (peak - base) * day * (0.8 + 0.4 * self.rng.random())

    def _electricity(self, ts: float, hour: float) -> dict[str, FieldValue]:
        power_w = self._load(hour, 1500, 12000)
        last = self.state.get("ts", ts)
        energy = self.state.get("energy", 10_000.0) + power_w * (ts - last) / 3_600_000
        self.state.update(ts=ts, energy=energy)
        return {
            "energy_kwh": round(energy, 3),
            "power_w": round(power_w, 1),
            "voltage_v": round(228 + self.rng.gauss(0, 1.5), 1),
        }

    def _water(self, ts: float, hour: float) -> dict[str, FieldValue]:
        flow = self._load(hour, 0.02, 1.5)
        last = self.state.get("ts", ts)
        volume = self.state.get("volume", 500.0) + flow * (ts - last) / 3600
        self.state.update(ts=ts, volume=volume)
        return {"volume_m3": round(volume, 4), "flow_m3h": round(flow, 3)}

    def _door(self, hour: float) -> dict[str, FieldValue]:
        if self.state.get("failed"):
            return {"open": True, "locked": False, "battery": 86.0}
        is_open = bool(self.state.get("open", 0))
        chance = 0.15 if 7 <= hour <= 18 else 0.01
        if self.rng.random() < chance:
            is_open = not is_open
        self.state["open"] = float(is_open)
        return {"open": is_open, "locked": not is_open and not 7 <= hour <= 18, "battery": 86.0}


def sample_campus() -> dict[str, list[DeviceInfo]]:
    """A small kindergarten: gate house, canteen and main building, by gateway."""

    def dev(device: str, kind: Kind, name: str, **tags: str) -> DeviceInfo:
        return DeviceInfo(
            device=device,
            kind=kind,
            name=name,
            interval_s=10,
            tags=tags,
        )

    return {
        "gw-gate": [
            dev("door-main-gate", "door", "大门", building="gate", room="门卫室"),
            dev("door-gatehouse", "door", "门卫室门", building="gate", room="门卫室"),
            dev("smoke-gatehouse", "smoke", "门卫室烟感", building="gate", room="门卫室"),
        ],
        "gw-canteen": [
            dev(
                "fridge-cold-1",
                "temperature",
                "冷藏柜 1",
                building="canteen",
                room="kitchen",
                **{"class": "refrigerator"},
            ),
            dev(
                "freezer-1",
                "temperature",
                "冷冻柜 1",
                building="canteen",
                room="kitchen",
                **{"class": "freezer"},
            ),
            dev(
                "sample-fridge",
                "temperature",
                "留样柜",
                building="canteen",
                room="kitchen",
                **{"class": "sample_fridge"},
            ),
            dev("meter-canteen", "electricity", "食堂电表", building="canteen"),
            dev("door-kitchen-back", "door", "厨房后门", building="canteen", room="kitchen"),
        ],
        "gw-main": [
            dev("meter-main", "electricity", "总电表", building="main"),
            dev("water-main", "water", "总水表", building="main"),
            dev("door-main-101", "door", "后门", building="main", room="101"),
            dev("smoke-main-1f", "smoke", "教学楼一楼烟感", building="main", room="1F"),
        ],
    }


class SimulatedSource:
    """Simulated devices reporting every ``every_s`` (or their ``interval_s``)."""

    def __init__(self, config: SimulatedSourceConfig, timezone: str, clock: Clock) -> None:
        self.name = "simulated"
        self.clock = clock
        self.tz = ZoneInfo(timezone)
        rng = random.Random(config.seed)  # noqa: S311 - simulation, not cryptography
        self.devices = [SimulatedDevice(d.info(), rng) for d in config.devices]
        self.every = {d.device: config.every_s or float(d.interval_s) for d in config.devices}
        self.fail_at = {device: after.total_seconds() for device, after in config.fail.items()}
        self._due = dict.fromkeys(self.every, 0.0)
        self._started = 0.0
        self._emit: Emit | None = None
        self._thread = PollingThread("simulated", self._step)
        self.readings = 0

    def start(self, emit: Emit) -> None:
        """Start simulating."""
        self._emit = emit
        self._started = self.clock.time()
        self._thread.start()

    def stop(self) -> None:
        """Stop simulating."""
        self._thread.stop()

    def stats(self) -> dict[str, int]:
        """Readings produced."""
        return {"readings": self.readings}

    def _step(self) -> float:
        now = self.clock.time()
        assert self._emit is not None
        for device in self.devices:
            name = device.info.device
            if now < self._due[name]:
                continue
            after = self.fail_at.get(name)
            if after is not None and now - self._started >= after:
                device.fail()
            self._due[name] = max(self._due[name] + self.every[name], now)
            values = device.read(now, self.tz)
            self._emit(make_reading(name, device.info.kind, int(now * 1000), values))
            self.readings += 1
        return min(self._due.values()) - self.clock.time()
