"""The end-to-end benchmark's direct write (tests/bench/bench_ingest.py) writes the very
lines the ingest stores for the benchmark's readings, so the two rates compare the same
work for InfluxDB."""

from __future__ import annotations

from pathlib import Path

import orjson

from ingest.metrics import Metrics
from ingest.pipeline.handler import MessageHandler
from ingest.registry import Registry
from tests.bench.bench_ingest import _envelope, _raw_line
from tests.clock import ManualClock
from tests.harness import BASE_TS


def test_raw_lines_are_the_ingests(tmp_path: Path) -> None:
    clock = ManualClock(BASE_TS / 1000 + 60)
    registry = Registry(tmp_path / "registry.json", clock)
    handler = MessageHandler("campus", lambda _site: True, registry, Metrics(), clock)
    payload = orjson.dumps(_envelope("gw-bench", 7, 50, 700))
    outcome = handler.handle("campus/sunshine-kg/gw-bench/readings", payload)
    assert outcome.dead_letters == []
    assert outcome.record is not None
    assert outcome.record.decode().split("\n") == [_raw_line(i) for i in range(700, 750)]
