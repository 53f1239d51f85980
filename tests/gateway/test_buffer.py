"""The store-and-forward buffer: order, seq across restarts, redelivery, drop policy."""

from __future__ import annotations

from pathlib import Path

import orjson

from gateway.buffer import Buffer
from gateway.sources.base import make_reading


def _reading(i: int, kind: str = "temperature") -> dict[str, object]:
    values: dict[str, object] = {"celsius": 4.0 + i} if kind == "temperature" else {"open": True}
    return make_reading(f"dev-{i}", kind, 1_795_459_200_000 + i, values)  # type: ignore[arg-type]


def _open(path: Path, max_bytes: int = 10 << 20) -> Buffer:
    buffer = Buffer(path / "gw.db", "gw-canteen", max_bytes)
    buffer.open()
    return buffer


def test_envelopes_keep_order_and_seq_grows_across_restarts(tmp_path: Path) -> None:
    buffer = _open(tmp_path)
    buffer.add([_reading(i) for i in range(5)])
    first = buffer.prepare(3)
    second = buffer.prepare(3)
    assert first is not None
    assert second is not None
    assert second.seq == first.seq + 1
    body = orjson.loads(first.payload)
    assert body["gateway"] == "gw-canteen"
    assert [r["device"] for r in body["readings"]] == ["dev-0", "dev-1", "dev-2"]
    assert [r["device"] for r in orjson.loads(second.payload)["readings"]] == ["dev-3", "dev-4"]
    buffer.acknowledge(first)
    assert buffer.depth == 2
    buffer.close()
    # After a restart the unacknowledged envelope comes back byte for byte ...
    buffer = _open(tmp_path)
    assert buffer.unacknowledged() == [second]
    assert buffer.depth == 2
    # ... and new envelopes continue the sequence.
    buffer.add([_reading(9)])
    third = buffer.prepare(10)
    assert third is not None
    assert third.seq == second.seq + 1
    buffer.acknowledge(third)
    buffer.acknowledge(third)  # a repeated PUBACK changes nothing
    assert buffer.depth == 2


def test_full_buffer_drops_oldest_routine_readings_first(tmp_path: Path) -> None:
    size = len(orjson.dumps(_reading(0)))
    buffer = _open(tmp_path, max_bytes=size * 10)
    buffer.add([_reading(i, "door") for i in range(3)])  # safety readings first (oldest)
    buffer.add([_reading(i) for i in range(3, 20)])
    assert buffer.dropped == 10
    envelope = buffer.prepare(100)
    assert envelope is not None
    kept = [r["device"] for r in orjson.loads(envelope.payload)["readings"]]
    assert kept[:3] == ["dev-0", "dev-1", "dev-2"]  # the doors survived
    assert kept[3:] == [f"dev-{i}" for i in range(13, 20)]  # the newest routine ones
    buffer.close()
    assert _open(tmp_path).dropped == 10  # the count survives a restart


def test_safety_readings_go_only_when_nothing_else_is_left(tmp_path: Path) -> None:
    size = len(orjson.dumps(_reading(0, "door")))
    buffer = _open(tmp_path, max_bytes=size * 4)
    buffer.add([_reading(i, "door") for i in range(6)])
    envelope = buffer.prepare(100)
    assert envelope is not None
    assert [r["device"] for r in orjson.loads(envelope.payload)["readings"]] == [
        "dev-2",
        "dev-3",
        "dev-4",
        "dev-5",
    ]
    assert buffer.dropped == 2


def test_envelopes_stay_under_256_kib(tmp_path: Path) -> None:
    buffer = _open(tmp_path)
    values = {"motion": True, "snapshot": "x" * 2000}
    big = [make_reading(f"cam-{i}", "camera", 1_795_459_200_000, values) for i in range(1000)]
    buffer.add(big)
    envelope = buffer.prepare(1000)
    assert envelope is not None
    assert len(envelope.payload) <= 256 * 1024
    assert 100 < envelope.count < 1000


def test_live_readings_alternate_with_the_backlog_after_a_reconnect(tmp_path: Path) -> None:
    buffer = _open(tmp_path)
    buffer.add([_reading(i) for i in range(6)])  # piled up during the outage
    buffer.mark_backlog()  # the uplink is back
    buffer.add([_reading(100, "door")])  # a door opens now
    order = []
    while (envelope := buffer.prepare(2, prefer_live=len(order) % 2 == 0)) is not None:
        order.append([r["device"] for r in orjson.loads(envelope.payload)["readings"]])
        buffer.acknowledge(envelope)
    # The door goes out first, then the backlog in order; seq still grows by one.
    assert order == [["dev-100"], ["dev-0", "dev-1"], ["dev-2", "dev-3"], ["dev-4", "dev-5"]]
    assert buffer.depth == 0
