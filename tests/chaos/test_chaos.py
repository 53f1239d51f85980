"""Chaos with gateways and the network (issue 24 §2), the short form: 90 seconds of a
seeded schedule of process kills and stops, broker and influxd restarts and cuts, stalls
and resets of the gateways' links, with smoke alarms and doors, against real processes.
``CAMPUSWATCH_CHAOS_SEEDS=1,2,3`` runs other seeds; ``python -m tests.bench.bench_chaos``
the 30-minute form."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.chaos.faults import make_schedule
from tests.chaos.run import run_chaos

SEEDS = [int(s) for s in os.environ.get("CAMPUSWATCH_CHAOS_SEEDS", "7").split(",")]


def test_the_same_seed_makes_the_same_schedule_covering_every_fault() -> None:
    first, again = make_schedule(7, 90), make_schedule(7, 90)
    assert first == again
    assert make_schedule(8, 90) != first
    kinds = {f.kind for f in first.faults}
    assert kinds == {"kill", "stop", "broker", "influxd", "cut", "stall", "reset"}
    for one, other in zip(first.faults, first.faults[1:], strict=False):
        assert one.at <= other.at


@pytest.mark.parametrize("seed", SEEDS)
def test_mixed_faults_lose_no_reading_and_tell_every_alarm_once(tmp_path: Path, seed: int) -> None:
    report = run_chaos(tmp_path, seed, seconds=90)
    print(report.text())  # the seed first: a failure replays with it
    assert not report.problems, report.text()
    assert report.committed > 20_000
    assert report.alarms >= 8
    assert report.told_by_server["edge"] >= 2  # the long cut's two alarms
    assert report.told_by_gateway >= 2
