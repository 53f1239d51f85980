"""One chaos run from start to figures: the world, the schedule, then the checks once
everything is back and drained (``make test`` runs a short form, ``make bench`` a long one)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from ingest.storage.influx import InfluxClient
from tests.chaos.check import (
    Report,
    check_alarms,
    check_readings,
    record_faults,
    stored_counts,
    witnessed,
)
from tests.chaos.faults import Runner, make_schedule
from tests.chaos.world import World
from tests.harness import wait_for
from tests.receivers import HttpReceiver, http_receiver


def run_chaos(work: Path, seed: int, seconds: float) -> Report:
    """Run ``seconds`` of seeded faults and alarms; the report of what held."""
    schedule = make_schedule(seed, seconds)
    with http_receiver() as hook, http_receiver() as robot:
        world = World(work, seed, hook, robot)
        try:
            world.start()
            runner = Runner(world, schedule)
            runner.run()
            return _settle_and_check(world, runner, hook, robot)
        finally:
            world.stop()


def _settle_and_check(
    world: World, runner: Runner, hook: HttpReceiver, robot: HttpReceiver
) -> Report:
    report = Report(runner.schedule.seed)
    record_faults(runner.outcomes, runner.errors, report)
    time.sleep(3)  # the last alarm's readings reach the buffers
    assert world.zigbee is not None
    assert world.ingest is not None
    world.zigbee.stop()
    for gateway in world.gateways.values():  # drained, then stopped: what is left is lost
        wait_for(lambda g=gateway: g.depth() < 5000, 180)  # type: ignore[misc]
        gateway.process.stop()
    health = httpx.get(world.ingest.api + "/api/health", timeout=5).json()
    if not (health["mqtt"] and health["influx"]):
        report.problems.append(f"the ingest is not well without a manual step: {health}")
    db = InfluxClient(world.influx.url, world.ingest.config["influx"]["database"])
    expected = witnessed(world.witness)
    kinds = {kind for kind, _ in expected}
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and sum(stored_counts(db, kinds).values()) < sum(
        expected.values()
    ):
        time.sleep(1)
    _quiet(hook)
    check_readings(world, db, report)
    check_alarms(world, hook, robot, runner.cuts, report)
    db.close()
    return report


def _quiet(hook: HttpReceiver, quiet_s: float = 5.0, limit_s: float = 60.0) -> None:
    """Wait until the server has told nothing new for ``quiet_s``."""
    deadline = time.monotonic() + limit_s
    count, since = len(hook.requests), time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - since < quiet_s:
        time.sleep(0.5)
        if len(hook.requests) != count:
            count, since = len(hook.requests), time.monotonic()
