"""The five-minute spans the handler notes beside each spool record are exactly those
of its lines (what the derived series' book would read from them), however the kinds
and times of an envelope's readings interleave."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.metrics import Metrics
from ingest.pipeline.handler import MessageHandler
from ingest.registry import Registry
from ingest.storage.dirty import SPAN_MS
from tests.clock import ManualClock
from tests.harness import BASE_TS

_VALUES = {"temperature": {"celsius": 4.5}, "water": {"volume_m3": 12.0}, "door": {"open": True}}
_READINGS = st.lists(
    st.tuples(st.sampled_from(sorted(_VALUES)), st.integers(0, 3 * SPAN_MS), st.integers(0, 3)),
    min_size=1,
    max_size=40,
)


def _spans_of(record: bytes) -> set[tuple[str, int]]:
    lines = record.decode().split("\n")
    return {(line[: line.index(",")], int(line.rsplit(" ", 1)[1]) // SPAN_MS) for line in lines}


@settings(max_examples=200, deadline=None)
@given(readings=_READINGS)
def test_noted_spans_are_the_lines_spans(
    tmp_path_factory: pytest.TempPathFactory, readings: list[tuple[str, int, int]]
) -> None:
    clock = ManualClock(BASE_TS / 1000 + 86_400)
    registry = Registry(tmp_path_factory.mktemp("spans") / "registry.json", clock)
    handler = MessageHandler("campus", lambda _site: True, registry, Metrics(), clock)
    envelope = {
        "v": 1,
        "gateway": "gw-1",
        "seq": 1,
        "readings": [
            {"device": f"d-{n}", "kind": kind, "ts": BASE_TS + offset, "values": _VALUES[kind]}
            for kind, offset, n in readings
        ],
    }
    outcome = handler.handle("campus/s/gw-1/readings", orjson.dumps(envelope))
    assert outcome.record is not None
    assert not outcome.dead_letters
    assert outcome.spans == _spans_of(outcome.record)
    assert len(outcome.record.split(b"\n")) == len(readings)
