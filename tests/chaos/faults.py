"""A seeded schedule of faults and smoke alarms, and running it against a :class:`World`.

Faults: SIGKILL of the ingest or a gateway (restarted after a while, as systemd would),
SIGSTOP of any process (SIGCONT later), a graceful restart of the central broker, a
SIGKILL and restart of influxd, and on a gateway's uplink a cut, a stall or a reset. The
same seed gives the same schedule; its figures (recovery time per fault) are measured.
"""

from __future__ import annotations

import random
import signal
import threading
import time
from dataclasses import dataclass, field

import httpx

from tests.chaos.world import SMOKES, World

GATEWAYS = ("gw-meters", "gw-zigbee", "gw-building")
LONG_CUT_S = 14.0  # a cut of the Zigbee gateway long enough for its edge alarms
RECOVERY_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class Fault:
    """One fault: what, on which process or link, from when (s) and for how long."""

    kind: str  # kill, stop, broker, influxd, cut, stall, reset
    target: str
    at: float
    lasts: float


@dataclass(frozen=True)
class Alarm:
    """A smoke detector in alarm from ``at`` for ``lasts`` seconds."""

    device: str
    at: float
    lasts: float


@dataclass
class Schedule:
    """What happens when; the same for the same seed."""

    seed: int
    seconds: float
    faults: list[Fault]
    alarms: list[Alarm]


@dataclass
class Outcome:
    """A fault as it happened: wall times and how long the system took to recover."""

    fault: Fault
    started: float = 0.0  # epoch s
    ended: float = 0.0
    recovered_s: float | None = None


def _kinds(rng: random.Random) -> list[tuple[str, str]]:
    """Every kind of fault once, in a seeded order (each run covers them all)."""
    every = [
        ("kill", "ingest"),
        ("kill", rng.choice(GATEWAYS)),
        ("stop", rng.choice(["ingest", "broker", "influxd", *GATEWAYS])),
        ("broker", "broker"),
        ("influxd", "influxd"),
        ("cut", rng.choice(GATEWAYS)),
        ("stall", rng.choice(GATEWAYS)),
        ("reset", rng.choice(GATEWAYS)),
    ]
    rng.shuffle(every)
    return every


def _any_kind(rng: random.Random) -> tuple[str, str]:
    kind = rng.choice(["kill", "kill", "stop", "broker", "influxd", "cut", "stall", "reset"])
    if kind in ("broker", "influxd"):
        return kind, kind
    if kind in ("cut", "stall", "reset"):
        return kind, rng.choice(GATEWAYS)
    targets = ["ingest", *GATEWAYS] + (["broker", "influxd"] if kind == "stop" else [])
    return kind, rng.choice(targets)


def make_schedule(seed: int, seconds: float) -> Schedule:
    """Faults about every 8 s (each kind at least once, a target never in two at once, a
    long cut of the Zigbee gateway with alarms inside), alarms about every 7 s."""
    rng = random.Random(seed)
    faults = [Fault("cut", "gw-zigbee", 5.0, LONG_CUT_S)]
    busy = {"gw-zigbee": 5.0 + LONG_CUT_S + 3}
    wanted = _kinds(rng)
    t = 12.0
    while t < seconds - 10:
        kind, target = wanted[-1] if wanted else _any_kind(rng)
        key = target if target in GATEWAYS or target == "ingest" else "servers"
        lasts = round(rng.uniform(2.0, 8.0), 1)
        if busy.get(key, 0.0) <= t and t + lasts < seconds - 5:
            faults.append(Fault(kind, target, round(t, 1), lasts))
            busy[key] = t + lasts + 3  # recovered before the next fault on it
            if wanted:
                wanted.pop()
        t += rng.uniform(4.0, 10.0)
    # Inside the long cut: a press over before the gateway acts, one still on when back.
    alarms = [Alarm("smoke-1", 6.5, 2.0), Alarm("smoke-2", 11.0, 14.0)]
    t = 30.0
    while t < seconds - 8:
        alarms.append(Alarm(rng.choice(SMOKES), round(t, 1), round(rng.uniform(2.0, 5.0), 1)))
        t += rng.uniform(5.0, 9.0)
    return Schedule(seed, seconds, sorted(faults, key=lambda f: f.at), alarms)


@dataclass
class Runner:
    """Plays a schedule against a world; every fault in a thread of its own."""

    world: World
    schedule: Schedule
    outcomes: list[Outcome] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    cuts: list[tuple[str, float, float]] = field(default_factory=list)  # links cut, epoch s
    _threads: list[threading.Thread] = field(default_factory=list)

    def run(self) -> None:
        """Play the schedule from now; returns when every fault has ended and recovered."""
        start = time.monotonic()
        events = [(f.at, self._fault, f) for f in self.schedule.faults]
        events += [(a.at, self._alarm, a) for a in self.schedule.alarms]
        for at, action, item in sorted(events, key=lambda e: e[0]):
            time.sleep(max(0.0, start + at - time.monotonic()))
            thread = threading.Thread(target=action, args=(item,), daemon=True)
            thread.start()
            self._threads.append(thread)
        time.sleep(max(0.0, start + self.schedule.seconds - time.monotonic()))
        for thread in self._threads:
            thread.join(RECOVERY_TIMEOUT_S + 60)

    def _alarm(self, alarm: Alarm) -> None:
        zigbee = self.world.zigbee
        assert zigbee is not None
        zigbee.smoke(alarm.device, on=True)
        time.sleep(alarm.lasts)
        zigbee.smoke(alarm.device, on=False)

    def _fault(self, fault: Fault) -> None:
        outcome = Outcome(fault, started=time.time())
        try:
            self._begin(fault)
            if fault.kind != "reset":  # a reset is over at once
                time.sleep(fault.lasts)
            self._end(fault)
            outcome.ended = time.time()
            if fault.kind == "cut":
                self.cuts.append((fault.target, outcome.started, outcome.ended))
            outcome.recovered_s = self._recovery(fault, time.monotonic())
        except Exception as exc:  # the check reports it: a fault that could not be undone
            self.errors.append(f"{fault}: {exc!r}")
        self.outcomes.append(outcome)

    def _begin(self, fault: Fault) -> None:
        world, target = self.world, fault.target
        if fault.kind == "kill":
            if target == "ingest":
                assert world.ingest is not None
                world.ingest.kill()
            else:
                world.gateways[target].process.kill()
        elif fault.kind == "stop":
            world.signal(target, signal.SIGSTOP)
        elif fault.kind == "broker":
            world.central.stop()
        elif fault.kind == "influxd":
            world.influx.kill()
        elif fault.kind == "cut":
            world.gateways[target].proxy.cut()
        elif fault.kind == "stall":
            world.gateways[target].proxy.stall()
        elif fault.kind == "reset":
            world.gateways[target].proxy.reset()

    def _end(self, fault: Fault) -> None:
        world, target = self.world, fault.target
        if fault.kind == "kill":
            if target == "ingest":
                assert world.ingest is not None
                world.ingest.start()
            else:
                world.gateways[target].process.start()
        elif fault.kind == "stop":
            world.signal(target, signal.SIGCONT)
        elif fault.kind == "broker":
            world.central.start()
        elif fault.kind == "influxd":
            world.influx.start()
        elif fault.kind == "cut":
            world.gateways[target].proxy.restore()
        elif fault.kind == "stall":
            world.gateways[target].proxy.resume()

    def _recovery(self, fault: Fault, since: float) -> float | None:
        """Seconds from the fault's end until the system works again: the gateway's
        envelopes arrive again (every gateway's, after the broker), the ingest accepts
        readings again, or tells that InfluxDB is back."""
        world = self.world
        if fault.target in GATEWAYS:
            gateways = [fault.target]
        elif fault.kind == "broker" or fault.target == "broker":
            gateways = list(GATEWAYS)
        else:
            gateways = []

        def recovered() -> bool:
            if gateways:
                return all(world.witness.heard_since(g, since) for g in gateways)
            return self._ingest_well(fault.target == "influxd")

        deadline = since + RECOVERY_TIMEOUT_S
        while time.monotonic() < deadline:
            if recovered():
                return round(time.monotonic() - since, 2)
            time.sleep(0.1)
        return None

    def _ingest_well(self, influx: bool) -> bool:
        ingest = self.world.ingest
        if ingest is None or ingest.proc is None:
            return False
        try:
            health = httpx.get(ingest.api + "/api/health", timeout=1).json()
        except (httpx.HTTPError, ValueError):
            return False
        return bool(health["influx"] if influx else health["mqtt"])
