"""Where the CPU of one reading goes in the ingest, stage by stage, in one process.

Run with ``python -m tests.bench.bench_hotpath`` (``make bench`` runs it). It builds the
real service (``IngestService``, the demo's rules, 500 refrigerators in a gateway's meta)
without a broker, then times with ``time.process_time`` what the MQTT thread does per
message and what the commit thread does per batch:

- decode and validate (``parse_envelope``);
- the handler without its listeners (topic, seq, registry, line protocol, counters);
- each listener of accepted readings (the rules engine, work orders);
- the spool commit of a batch (append with its fsync, the registry's seqs).

Steadier than the end-to-end ``bench_ingest`` (no broker, no InfluxDB, one thread),
so a change to the hot path shows here first; ``--profile FILE`` writes cProfile's
statistics of the whole handler.
"""

from __future__ import annotations

import argparse
import cProfile
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import orjson

from campuswatch import heap
from campuswatch.clock import now_ms
from campuswatch.protocol.readings import Reading, parse_envelope
from demo.scenario import DEMO_DUTY, alerting
from ingest.app import IngestService
from ingest.config import IngestConfig
from ingest.pipeline.handler import Outcome
from tests.clock import ManualClock
from tests.harness import BASE_TS, config_dict

SITE, GATEWAY, DEVICES = "sunshine-kg", "gw-bench", 500
NEXT_SEQ = [1]
NEXT_TS = [BASE_TS]  # every reading 1 ms after the one before: none is late
# The service's time: a run's readings are its last seconds (20,000 readings: 20 s), as on
# a live campus, so none is a backlog (older than the rules' STALE_MS) either.
CLOCK = ManualClock(BASE_TS / 1000)


def build_service(state: Path) -> IngestService:
    """The service as ``campus-ingest run`` builds it, its stores open, nothing started."""
    broker, influx = SimpleNamespace(port=1), SimpleNamespace(url="http://127.0.0.1:1")
    doc = config_dict(state, broker, influx, topic_root="campus")  # type: ignore[arg-type]
    doc.update(alerting("http://127.0.0.1:1/hook"), duty=DEMO_DUTY)
    service = IngestService(IngestConfig.model_validate(doc), CLOCK)
    state.mkdir(parents=True, exist_ok=True)
    for part in (service.links, service.people, service.duty, service.snapshots):
        part.open()
    service.registry.load()
    service.spool.open()
    service.alert_store.open()
    service.engine.load()
    meta = {
        "v": 1,
        "gateway": GATEWAY,
        "devices": [
            {"device": f"fridge-{i}", "kind": "temperature", "tags": {"class": "refrigerator"}}
            for i in range(DEVICES)
        ],
    }
    service.handler.handle(f"campus/{SITE}/{GATEWAY}/meta", orjson.dumps(meta))
    return service


def envelopes(count: int, size: int, first_seq: int, first_ts: int) -> list[bytes]:
    """Readings payloads of ``size`` refrigerator readings each (no alert fires)."""
    return [
        orjson.dumps(
            {
                "v": 1,
                "gateway": GATEWAY,
                "seq": first_seq + n,
                "readings": [
                    {
                        "device": f"fridge-{(n * size + i) % DEVICES}",
                        "kind": "temperature",
                        "ts": first_ts + n * size + i,
                        "values": {"celsius": 4.25, "humidity": 61.5},
                    }
                    for i in range(size)
                ],
            }
        )
        for n in range(count)
    ]


def fresh_envelopes(count: int, size: int, *, handled: bool = True) -> list[bytes]:
    """``envelopes`` with the next timestamps, the clock a second after the last; with
    the next seqs (neither repeats nor gaps) when the handler is to see them."""
    first, first_ts = NEXT_SEQ[0], NEXT_TS[0]
    NEXT_SEQ[0] += count if handled else 0
    NEXT_TS[0] += count * size
    CLOCK.advance((NEXT_TS[0] + 1000) / 1000 - CLOCK.time())
    return envelopes(count, size, first, first_ts)


def fresh_readings(count: int, size: int) -> list[list[Reading]]:
    """The readings of fresh envelopes, decoded: what a listener is given."""
    now = now_ms(CLOCK)
    payloads = fresh_envelopes(count, size, handled=False)  # given to listeners only
    return [parse_envelope(p, GATEWAY, now + 1000).readings for p in payloads]


def cpu_us(
    run: Callable[[Any], object],
    readings: int,
    prepare: Callable[[], Any] = list,
    repeats: int = 3,
) -> float:
    """The least CPU microseconds per reading of ``repeats`` runs of ``run``; what
    ``prepare`` makes for each run is not counted."""
    best = float("inf")
    for _ in range(repeats):
        made = prepare()
        started = time.process_time()
        run(made)
        best = min(best, time.process_time() - started)
    return best / readings * 1e6


def _feed(listener: Callable[..., object], parsed: list[list[Reading]]) -> None:
    for batch in parsed:
        listener(SITE, GATEWAY, batch)


def measure(service: IngestService, count: int, size: int) -> dict[str, float]:
    """CPU us per reading of each stage for ``count`` envelopes of ``size`` readings."""
    topic = f"campus/{SITE}/{GATEWAY}/readings"
    handler, readings = service.handler, count * size

    fresh = partial(fresh_envelopes, count, size)

    def handle_all(payloads: list[bytes]) -> list[Outcome]:
        return [handler.handle(topic, payload) for payload in payloads]

    stages: dict[str, float] = {}
    handle_all(fresh())  # warm up: the registry, the rules' device states
    payloads = envelopes(count, size, NEXT_SEQ[0], NEXT_TS[0])  # only decoded
    now = NEXT_TS[0] + 86_400_000  # later than every reading
    stages["decode + validate"] = cpu_us(
        lambda _: [parse_envelope(p, GATEWAY, now) for p in payloads], readings
    )
    listeners = handler.accepted._listeners
    handler.accepted._listeners = ()
    stages["handler without listeners"] = cpu_us(handle_all, readings, fresh)
    handler.accepted._listeners = listeners
    for listener in listeners:
        name = getattr(listener, "__qualname__", repr(listener))
        fed = partial(fresh_readings, count, size)  # each run new readings: none late
        stages[f"listener {name}"] = cpu_us(partial(_feed, listener), readings, fed)
    stages["handler, all of it"] = cpu_us(handle_all, readings, fresh)
    outcomes = handle_all(fresh())
    per_commit = max(1, 200 // size)  # the commit thread takes what queued meanwhile

    def commit_all(_: list[bytes]) -> None:  # as MqttConsumer._commit does
        for start in range(0, len(outcomes), per_commit):
            batch = outcomes[start : start + per_commit]
            records = [o.record for o in batch if o.record]
            service.intake.store(records, {span for o in batch for span in o.spans})
            service.registry.save_seqs()
            service.registry._seqs_dirty = True

    stages[f"spool commit, {per_commit} envelope(s) a batch"] = cpu_us(commit_all, readings)
    return stages


def main() -> None:
    """Print each stage's CPU per reading for single and 50-reading envelopes."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=20_000, help="single-reading envelopes")
    parser.add_argument("--profile", type=Path, help="write cProfile statistics of the handler")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="campus-hotpath-") as tmp:
        service = build_service(Path(tmp) / "state")
        heap.settle()  # as campus-ingest run does once it is built
        for size, count in ((1, args.messages), (50, args.messages // 50)):
            print(f"\n{count:,} envelopes of {size} reading(s), CPU us per reading:")
            for stage, us in measure(service, count, size).items():
                print(f"  {stage:<52} {us:7.2f}")
        if args.profile:
            payloads = fresh_envelopes(args.messages, 1)
            topic = f"campus/{SITE}/{GATEWAY}/readings"
            with cProfile.Profile() as profile:
                for payload in payloads:
                    service.handler.handle(topic, payload)
            profile.dump_stats(args.profile)
            print(f"\ncProfile statistics: {args.profile} (python -m pstats)")
        service.spool.close()
        service.alert_store.close()


if __name__ == "__main__":
    main()
