"""What must hold after a chaos run, and its figures.

- Every reading a gateway committed left it (its buffer is empty after a graceful stop),
  reached the broker (the witness has every ``seq`` of every gateway, no gap) and is in
  InfluxDB exactly once (per device, as many points as distinct readings the witness saw).
- The ingest reported no ``seq`` gap (there was no real loss to report).
- After de-duplication by ``X-Campuswatch-Delivery``: no step of an alert told twice; every
  smoke alarm the gateways committed told by the server exactly once (``firing``,
  ``late`` or ``edge``); every alarm that began inside a long cut of the Zigbee gateway's
  link told by the gateway itself and then by the server as ``edge``; the server says
  ``edge`` only of alarms the gateway told; the broker got the gateway's record of every
  alarm it told.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ingest.storage.influx import InfluxClient
from tests.chaos.faults import Outcome
from tests.chaos.world import EDGE_AFTER_S, SMOKES, Witness, World
from tests.receivers import HttpReceiver

TELLING = ("firing", "late", "edge")


@dataclass
class Episode:
    """One smoke alarm as the gateway committed it: from its first ``true`` reading to
    its first ``false`` one after (None: still on at the end)."""

    device: str
    on_ms: int
    off_ms: int | None

    def holds(self, ms: int, width_ms: int = 1) -> bool:
        """Whether the time ``[ms, ms + width_ms)`` meets it (a message says its start
        in whole seconds: ``width_ms`` 1000)."""
        end = self.off_ms if self.off_ms is not None else 2**62
        return ms <= end and ms + width_ms > self.on_ms


@dataclass
class Report:
    """The figures of a run and what went wrong."""

    seed: int
    committed: int = 0  # distinct readings in the envelopes the broker took
    delivered_twice: int = 0  # readings in envelopes the broker took again (republished)
    stored: int = 0
    alarms: int = 0
    told_by_server: Counter[str] = field(default_factory=Counter)
    told_by_gateway: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    recovery: list[tuple[str, str, float | None]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def text(self) -> str:
        """The figures, for the test's output and the bench."""
        recovered = [r for _, _, r in self.recovery if r is not None]
        worst = max(recovered, default=0.0)
        lines = [
            f"seed {self.seed}",
            f"readings: committed {self.committed:,}, stored {self.stored:,}, delivered "
            f"twice {self.delivered_twice:,} (stored once)",
            f"smoke alarms {self.alarms}; server told {dict(self.told_by_server)}; "
            f"gateway told {self.told_by_gateway} on its own",
            f"faults {dict(self.faults)}; recovery max {worst:.1f} s",
            *(
                f"  {kind} {target}: {r if r is not None else 'never'} s"
                for kind, target, r in self.recovery
            ),
            *(f"PROBLEM {p}" for p in self.problems),
        ]
        return "\n".join(lines)


def episodes(witness: Witness) -> list[Episode]:
    """The smoke alarms in what the broker took, by device, in reading-time order."""
    by_device: dict[str, list[tuple[int, bool]]] = {d: [] for d in SMOKES}
    for _gateway, reading in witness.readings():
        if reading["kind"] == "smoke" and "smoke" in reading["values"]:
            by_device[reading["device"]].append((reading["ts"], reading["values"]["smoke"]))
    found = []
    for device, states in by_device.items():
        current: Episode | None = None
        for ts, on in sorted(states):
            if on and current is None:
                current = Episode(device, ts, None)
            elif not on and current is not None:
                current.off_ms = ts
                found.append(current)
                current = None
        if current is not None:
            found.append(current)
    return found


def check_readings(world: World, db: InfluxClient, report: Report) -> None:
    """Buffers empty, no seq gap at the broker or the ingest, InfluxDB exactly once."""
    for gateway in world.gateways.values():
        if gateway.depth():
            report.problems.append(f"{gateway.name}: {gateway.depth()} left in its buffer")
    seqs: dict[str, list[int]] = {}
    for gateway, seq in world.witness.envelopes:
        seqs.setdefault(gateway, []).append(seq)
    for gateway, numbers in seqs.items():
        numbers.sort()
        gaps = [(a, b) for a, b in itertools.pairwise(numbers) if b != a + 1]
        if gaps:
            report.problems.append(f"{gateway}: envelopes missing at the broker {gaps[:5]}")
    assert world.ingest is not None
    gaps = re.findall(r"(\d+) envelope\(s\) missing before seq", world.ingest.log_text())
    if gaps:
        report.problems.append(f"the ingest reported seq gaps that were no loss: {gaps[:5]}")
    expected = witnessed(world.witness)
    report.committed = sum(expected.values())
    report.delivered_twice = world.witness.repeated
    stored = stored_counts(db, {kind for kind, _ in expected})
    report.stored = sum(stored.values())
    for key in sorted(set(expected) | set(stored)):
        if expected.get(key, 0) != stored.get(key, 0):
            report.problems.append(
                f"{key}: {expected.get(key, 0)} committed, {stored.get(key, 0)} in InfluxDB"
            )


def witnessed(witness: Witness) -> Counter[tuple[str, str]]:
    """Distinct readings (device and time) by (kind, device) the broker took."""
    seen = {(r["kind"], r["device"], r["ts"]) for _gw, r in witness.readings()}
    return Counter((kind, device) for kind, device, _ts in seen)


def stored_counts(db: InfluxClient, kinds: set[str]) -> Counter[tuple[str, str]]:
    """Points by (kind, device) in InfluxDB (the most of any field: every reading has
    its kind's main field)."""
    counts: Counter[tuple[str, str]] = Counter()
    for kind in kinds:
        for row in db.query(f'SELECT count(*) FROM "{kind}" GROUP BY "device"'):
            numbers = [v for k, v in row.items() if k.startswith("count_") and v]
            counts[(kind, row["device"])] = int(max(numbers, default=0))
    return counts


def _deliveries(receiver: HttpReceiver, path: str) -> list[dict[str, Any]]:
    """Bodies of the accepted requests to ``path``, once per delivery id."""
    seen: dict[str, dict[str, Any]] = {}
    for request in receiver.requests:
        if request.path == path and request.headers.get("x-accepted") == "yes":
            seen.setdefault(request.headers["x-campuswatch-delivery"], request.body)
    return list(seen.values())


def _ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp() * 1000)


def check_alarms(
    world: World,
    hook: HttpReceiver,
    robot: HttpReceiver,
    cuts: list[tuple[str, float, float]],
    report: Report,
) -> None:
    """Every step told once; every smoke alarm told once by the server; edge as §12 says."""
    server = _deliveries(hook, "/server")
    steps = Counter((b["alert_id"], b["state"]) for b in server)
    for (alert_id, state), times in steps.items():
        if times > 1:
            report.problems.append(f"alert {alert_id} told {state!r} {times} times")
    found = episodes(world.witness)
    report.alarms = len(found)
    tellings = [b for b in server if b["rule"] == "smoke" and b["state"] in TELLING]
    report.told_by_server = Counter(b["state"] for b in tellings)
    robot_told = _deliveries(robot, "/edge")
    report.told_by_gateway = len(robot_told)
    told: dict[int, list[str]] = {id(e): [] for e in found}  # the server's, by episode
    by_robot: Counter[int] = Counter()
    for body in tellings:
        episode = _episode_of(found, body["device"], _ms(body["started_at"]), 1000)
        if episode is None:
            report.problems.append(f"told of no alarm the gateways committed: {body}")
        else:
            told[id(episode)].append(body["state"])
    records = {(t["device"], t["ts"]) for t in world.witness.told}
    for body in robot_told:
        if (body["device"], body["ts"]) not in records:
            report.problems.append(f"the gateway told {body['device']} but never the server")
        episode = _episode_of(found, body["device"], body["ts"], 1)
        if episode is None:
            report.problems.append(f"the gateway told of no alarm it committed: {body}")
        else:
            by_robot[id(episode)] += 1
    for episode in found:
        report.problems += _judge(episode, told[id(episode)], by_robot[id(episode)], cuts)


def _judge(
    episode: Episode, states: list[str], robot: int, cuts: list[tuple[str, float, float]]
) -> list[str]:
    """What is wrong with how one alarm was told: by the server (``states``) and by its
    gateway on its own (``robot`` times)."""
    problems = []
    if len(states) != 1:
        problems.append(f"{episode}: told {states} by the server")
    if robot > 1:
        problems.append(f"{episode}: told {robot} times by the gateway")
    if "edge" in states and not robot:
        problems.append(f"{episode}: 'edge' from the server, the gateway told nobody")
    if _inside_a_long_cut(episode, cuts) and not (robot and states == ["edge"]):
        problems.append(f"{episode}: began inside a cut; gateway told {robot}, server {states}")
    return problems


def _episode_of(found: list[Episode], device: str, start_ms: int, width_ms: int) -> Episode | None:
    """The alarm a message is about: the one that began in the message's start (its
    second), else one the start falls in (a reading delivered after a later one)."""
    meets = [e for e in found if e.device == device and e.holds(start_ms, width_ms)]
    exact = [e for e in meets if start_ms <= e.on_ms < start_ms + width_ms]
    return (exact or meets or [None])[0]


def _inside_a_long_cut(episode: Episode, cuts: list[tuple[str, float, float]]) -> bool:
    """Whether the alarm began well inside a cut of the Zigbee gateway's link long enough
    for the gateway to act before it ended."""
    for target, start, end in cuts:
        if target != "gw-zigbee" or end - start < EDGE_AFTER_S + 2:
            continue
        if start * 1000 + 500 <= episode.on_ms <= end * 1000 - 1500:
            return True
    return False


def record_faults(outcomes: list[Outcome], errors: list[str], report: Report) -> None:
    """Faults by kind, recovery per fault; a fault that never recovered is a problem."""
    for outcome in sorted(outcomes, key=lambda o: o.fault.at):
        fault = outcome.fault
        report.faults[fault.kind] += 1
        report.recovery.append((fault.kind, fault.target, outcome.recovered_s))
        if outcome.recovered_s is None:
            report.problems.append(f"{fault.kind} {fault.target}: never recovered")
    report.problems.extend(errors)
