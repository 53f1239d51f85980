"""Simulated devices with plausible behaviour, for the demo and for tests.

Deterministic from the seed: each device advances one step per reading from its previous
state and the local time. Fridges cycle their compressor around the set point and jump
when their door is opened at meal times; meters count up with a day/night load profile;
doors open and close with the school day and are locked at night; smoke is very rare.
A gate camera sees people at drop-off and pick-up. Scenarios (``fail:``) make a device
fail after a delay or at a time of day: a door left open and unlocked, a fridge whose
compressor stopped, a smoke alarm, someone at the gate.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from campuswatch.clock import Clock
from campuswatch.protocol import DeviceInfo, FieldValue, Kind
from campuswatch.worker import Worker
from gateway.config import SimulatedSourceConfig
from gateway.sources.base import Emit, make_reading

_SET_POINTS = {"refrigerator": 4.0, "sample_fridge": 3.0, "freezer": -20.0, "medicine_fridge": 5.0}
_ROOM_C = 20.0
_WARM_ROOM_C = 18.0  # where a fridge without its compressor drifts to
_SMOKE_CHANCE = 1e-6  # per reading: a false alarm every few weeks per detector
# Electricity load (night base, day peak) in W. A meter with a ``parent`` tag is a
# sub-meter (the canteen's); one without is the campus's main meter, which sees every
# building, the canteen included: its lowest load at any hour is above a sub-meter's
# highest (the load varies ±20 %), so the main meter never counts less than its children.
_SUB_METER_W, _MAIN_METER_W = (1500.0, 12000.0), (3000.0, 20000.0)


@dataclass
class SimulatedDevice:
    """One simulated device and its evolving state."""

    info: DeviceInfo
    rng: random.Random
    state: dict[str, float] = field(default_factory=dict)

    def read(self, ts: float, tz: ZoneInfo) -> dict[str, FieldValue]:
        """The device's values at epoch seconds ``ts`` (one simulation step)."""
        local = datetime.fromtimestamp(ts, tz)
        hour = local.hour + local.minute / 60
        school_day = local.weekday() < 5
        kind = self.info.kind
        if kind == "temperature":
            return self._temperature(hour)
        if kind == "electricity":
            return self._electricity(ts, hour, school_day)
        if kind == "water":
            return self._water(ts, hour, school_day)
        if kind == "door":
            return self._door(hour, school_day)
        if kind == "smoke":
            return self._smoke()
        if kind == "leak":
            return {"leak": self.failed, "battery": 92.0}
        if kind == "panic":
            return {"pressed": self.failed, "battery": 97.0}
        if kind == "motion":
            return self._motion(hour, school_day)
        if kind == "camera":
            return self._camera(hour, school_day)
        return {"uptime_s": ts - self.state.setdefault("started", ts)}

    def fail(self) -> None:
        """Scenario: a door is left open and unlocked, a fridge's compressor stops, smoke."""
        self.state["failed"] = 1.0

    @property
    def failed(self) -> bool:
        """True once the scenario made this device fail."""
        return bool(self.state.get("failed"))

    def _temperature(self, hour: float) -> dict[str, FieldValue]:
        set_point = _SET_POINTS.get(self.info.tags.get("class", ""))
        now = self.state.get("celsius", _ROOM_C if set_point is None else set_point)
        if set_point is None:  # a room: follows the day a little
            now += (_ROOM_C + 2 * math.sin((hour - 9) / 24 * 2 * math.pi) - now) * 0.1
        elif self.failed:
            now += (_WARM_ROOM_C - now) * 0.1
        else:
            now = self._compressor_step(now, set_point)
        now += self.rng.gauss(0, 0.05)
        self.state["celsius"] = now
        shown = now + self._door_spike(hour)
        return {"celsius": round(shown, 2), "humidity": round(60 + self.rng.gauss(0, 2), 1)}

    def _compressor_step(self, now: float, set_point: float) -> float:
        """Cool while the compressor runs, warm while it rests (about set point +/- 1 °C)."""
        cooling = bool(self.state.get("compressor", 0))
        if now >= set_point + 1.0:
            cooling = True
        elif now <= set_point - 1.0:
            cooling = False
        self.state["compressor"] = float(cooling)
        return now + (-0.15 if cooling else 0.08)

    def _door_spike(self, hour: float) -> float:
        """Warm air from an opened door at meal times: a jump that fades in a few readings."""
        spike = self.state.get("spike", 0.0) * 0.6
        meal_time = 6 <= hour < 8 or 10.5 <= hour < 12.5 or 16 <= hour < 17.5
        if meal_time and spike < 0.2 and self.rng.random() < 0.02:
            spike = 2.5
        self.state["spike"] = spike
        return spike

    def _load(self, hour: float, base: float, peak: float, school_day: bool) -> float:
        day = max(0.0, math.sin((hour - 6) / 14 * math.pi)) if 6 <= hour <= 20 else 0.0
        if not school_day:
            day *= 0.2
        return base + (peak - base) * day * (0.8 + 0.4 * self.rng.random())

    def _electricity(self, ts: float, hour: float, school_day: bool) -> dict[str, FieldValue]:
        base, peak = _SUB_METER_W if "parent" in self.info.tags else _MAIN_METER_W
        power_w = self._load(hour, base, peak, school_day)
        last = self.state.get("ts", ts)
        energy = self.state.get("energy", 10_000.0) + power_w * (ts - last) / 3_600_000
        self.state.update(ts=ts, energy=energy)
        voltage = 228 + self.rng.gauss(0, 1.5)
        return {
            "energy_kwh": round(energy, 3),
            "power_w": round(power_w, 1),
            "voltage_v": round(voltage, 1),
            "current_a": round(power_w / voltage, 2),
        }

    def _water(self, ts: float, hour: float, school_day: bool) -> dict[str, FieldValue]:
        flow = self._load(hour, 0.0, 1.5, school_day)
        last = self.state.get("ts", ts)
        volume = self.state.get("volume", 500.0) + flow * (ts - last) / 3600
        self.state.update(ts=ts, volume=volume)
        return {"volume_m3": round(volume, 4), "flow_m3h": round(flow, 3)}

    def _motion(self, hour: float, school_day: bool) -> dict[str, FieldValue]:
        """A corridor PIR: busy in school hours, empty at night (unless it failed)."""
        busy = school_day and 7 <= hour < 18
        moving = self.failed or self.rng.random() < (0.5 if busy else 0.002)
        return {"motion": moving, "battery": 95.0}

    def _door(self, hour: float, school_day: bool) -> dict[str, FieldValue]:
        if self.info.device.startswith("lock-"):  # the simulation's locks have no contact
            return {"locked": not self.failed and not (school_day and 7 <= hour < 18)}
        if self.failed:
            return {"open": True, "locked": False, "battery": 86.0}
        in_use = school_day and 7 <= hour < 18
        is_open = bool(self.state.get("open", 0))
        if self.rng.random() < (0.15 if in_use else 0.005):
            is_open = not is_open
        if not in_use and is_open and self.rng.random() < 0.5:
            is_open = False  # the night patrol closes what it finds open
        self.state["open"] = float(is_open)
        return {"open": is_open, "locked": not is_open and not in_use, "battery": 86.0}

    def _camera(self, hour: float, school_day: bool) -> dict[str, FieldValue]:
        """A gate camera: busy at drop-off and pick-up, now and then someone at night."""
        if self.failed:
            return {"motion": True, "persons": 1, "tamper": False, "online": True}
        rush = school_day and (7 <= hour < 8.5 or 16 <= hour < 17.5)
        chance = 0.6 if rush else 0.1 if 6 <= hour < 20 else 0.01
        persons = self.rng.randint(1, 8 if rush else 2) if self.rng.random() < chance else 0
        return {"motion": persons > 0, "persons": persons, "tamper": False, "online": True}

    def _smoke(self) -> dict[str, FieldValue]:
        left = self.state.get("smoke_left", 0.0)
        if self.failed:
            left = 1.0
        elif left <= 0 and self.rng.random() < _SMOKE_CHANCE:
            left = 3.0  # a short false alarm (cooking, dust)
        self.state["smoke_left"] = max(0.0, left - 1) if not self.failed else 1.0
        return {"smoke": left > 0, "battery_low": False}


def sample_campus() -> dict[str, list[DeviceInfo]]:
    """A small kindergarten: gate house, canteen and main building, by gateway."""

    def dev(device: str, kind: Kind, name: str, **tags: str) -> DeviceInfo:
        return DeviceInfo(device=device, kind=kind, name=name, interval_s=10, tags=tags)

    kitchen = {"building": "canteen", "room": "kitchen"}
    return {
        "gw-gate": [
            dev("door-main-gate", "door", "大门", building="gate", room="门卫室"),
            dev("door-gatehouse", "door", "门卫室门", building="gate", room="门卫室"),
            dev("smoke-gatehouse", "smoke", "门卫室烟感", building="gate", room="门卫室"),
            dev("cam-gate", "camera", "大门摄像头", building="gate", room="大门"),
        ],
        "gw-canteen": [
            dev("fridge-cold-1", "temperature", "冷藏柜 1", **kitchen, **{"class": "refrigerator"}),
            dev("freezer-1", "temperature", "冷冻柜 1", **kitchen, **{"class": "freezer"}),
            dev("sample-fridge", "temperature", "留样柜", **kitchen, **{"class": "sample_fridge"}),
            dev(
                "meter-canteen", "electricity", "食堂电表", building="canteen", parent="meter-main"
            ),
            dev("door-kitchen-back", "door", "厨房后门", **kitchen),
            dev("leak-kitchen", "leak", "厨房漏水", **kitchen),
        ],
        "gw-main": [
            dev("meter-main", "electricity", "总电表", building="main"),
            dev("water-main", "water", "总水表", building="main"),
            dev("door-main-101", "door", "后门", building="main", room="101"),
            dev("smoke-main-1f", "smoke", "教学楼一楼烟感", building="main", room="1F"),
            dev("lock-main-store", "door", "储藏室智能锁", building="main", room="103"),
            dev(
                "medicine-fridge",
                "temperature",
                "保健室药品冰箱",
                building="main",
                room="保健室",
                **{"class": "medicine_fridge"},
            ),
            dev("motion-main-1f", "motion", "一楼走廊人体感应", building="main", room="1F"),
            dev("panic-main-office", "panic", "办公室一键报警", building="main", room="办公室"),
        ],
    }


def fail_time(at: timedelta | time, started: float, tz: ZoneInfo) -> float:
    """Epoch seconds of a scenario: a delay after ``started`` or the next time of day."""
    if isinstance(at, timedelta):
        return started + at.total_seconds()
    start = datetime.fromtimestamp(started, tz)
    moment = datetime.combine(start.date(), at, tz)
    if moment.timestamp() < started:
        moment = datetime.combine(start.date() + timedelta(days=1), at, tz)
    return moment.timestamp()


class SimulatedSource:
    """Simulated devices reporting every ``every_s`` (or their ``interval_s``)."""

    def __init__(self, config: SimulatedSourceConfig, timezone: str, clock: Clock) -> None:
        self.name = "simulated"
        self.clock = clock
        self.tz = ZoneInfo(timezone)
        rng = random.Random(config.seed)  # noqa: S311 - simulation, not cryptography
        self.devices = [SimulatedDevice(d.info(), rng) for d in config.devices]
        self.every = {d.device: config.every_s or float(d.interval_s) for d in config.devices}
        self.fail_at = config.fail
        self._fail_ts: dict[str, float] = {}
        self._due = dict.fromkeys(self.every, 0.0)
        self._emit: Emit | None = None
        self._thread = Worker("simulated", self._step)
        self.readings = 0

    def start(self, emit: Emit) -> None:
        """Start simulating."""
        self._emit = emit
        started = self.clock.time()
        self._fail_ts = {d: fail_time(at, started, self.tz) for d, at in self.fail_at.items()}
        self._thread.start()

    def stop(self) -> None:
        """Stop simulating."""
        self._thread.stop()

    def stats(self) -> dict[str, int]:
        """Readings produced (a simulation has no read errors)."""
        return {"readings": self.readings, "errors": 0}

    def _step(self) -> float:
        now = self.clock.time()
        assert self._emit is not None
        for device in self.devices:
            name = device.info.device
            due = self._due[name]
            if now < due:
                continue
            if now >= self._fail_ts.get(name, math.inf):
                device.fail()
            # The next reading is one period after this one was due; after a stall it is
            # one period from now, never "now" again (that would repeat this timestamp).
            due += self.every[name]
            self._due[name] = due if due > now else now + self.every[name]
            values = device.read(now, self.tz)
            self._emit(make_reading(name, device.info.kind, int(now * 1000), values))
            self.readings += 1
        return min(self._due.values()) - self.clock.time()
