"""The InfluxDB adapter and writer against a real influxd: escaping, partial writes,
missing databases and retention policies."""

from __future__ import annotations

import itertools
import logging
import time
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campuswatch.clock import SystemClock
from demo.services import InfluxServer
from ingest.metrics import Metrics
from ingest.pipeline.deadletters import DeadLetterStore
from ingest.pipeline.handler import MessageHandler
from ingest.pipeline.spool import Spool
from ingest.pipeline.writer import InfluxWriter
from ingest.registry import Registry
from ingest.storage.influx import InfluxClient, quote_ident
from ingest.storage.lineprotocol import encode_point
from tests.harness import BASE_TS, envelope, reading, unique, wait_for

# Any text except control characters and the backslash (SPEC §2), 1 to 64 characters.
names = st.text(
    st.characters(exclude_categories=("Cs", "Cc"), exclude_characters="\\\x85"),
    min_size=1,
    max_size=64,
).filter(lambda s: not any("\x80" <= c <= "\x9f" for c in s))
_timestamps = itertools.count()
string_values = st.text(st.characters(exclude_categories=("Cs",)), max_size=200)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(device=names, room=names, note=string_values, seq=st.integers(0, 10**6))
def test_names_tags_and_strings_round_trip_unchanged(
    client: InfluxClient, tmp_path: Path, device: str, room: str, note: str, seq: int
) -> None:
    registry = Registry(tmp_path / "registry.json", SystemClock())
    handler = MessageHandler("campus", lambda _site: True, registry, Metrics(), SystemClock())
    meta = orjson.dumps(
        {
            "v": 1,
            "gateway": "gw-a",
            "devices": [{"device": device, "kind": "temperature", "tags": {"room": room}}],
        }
    )
    handler.handle("campus/site-a/gw-a/meta", meta)
    ts = BASE_TS + next(_timestamps)  # one point per example at its own time
    out = handler.handle(
        "campus/site-a/gw-a/readings",
        envelope("gw-a", seq, [reading(device, "temperature", ts, celsius=4.5)]),
    )
    assert out.record is not None
    alert = encode_point(
        "alert_event", {"device": device, "rule": "r"}, {"title": note, "message": note + "\\"}, ts
    )
    client.write(out.record + b"\n" + alert.encode())
    [row] = client.query(f'SELECT * FROM "temperature" WHERE time = {ts}ms')
    assert (row["device"], row["room"], row["celsius"]) == (device, room, 4.5)
    [event] = client.query(f'SELECT * FROM "alert_event" WHERE time = {ts}ms')
    assert (event["device"], event["title"], event["message"]) == (device, note, note + "\\")


def _writer(client: InfluxClient, tmp_path: Path) -> tuple[InfluxWriter, Spool, Metrics]:
    spool = Spool(tmp_path / "spool")
    spool.open()
    metrics = Metrics()
    writer = InfluxWriter(client, spool, DeadLetterStore(tmp_path / "dead"), metrics)
    return writer, spool, metrics


def test_partial_write_keeps_good_points_and_dead_letters_the_bad_one(
    client: InfluxClient, tmp_path: Path
) -> None:
    client.write(b"temperature,device=t0 celsius=1i 1700000000000")  # celsius is now an integer
    writer, spool, metrics = _writer(client, tmp_path)
    lines = [f"temperature,device=t{i} celsius={i}.5 {BASE_TS + i}".encode() for i in range(1, 40)]
    lines[17] = b"temperature,device=bad celsius=2.5 1700000000001"  # float into integer field
    spool.append([b"\n".join(lines[:20]), b"\n".join(lines[20:])])
    writer.start()
    try:
        wait_for(lambda: spool.pending_bytes() == 0, 20)
    finally:
        writer.stop()
    assert client.query('SELECT count("celsius") FROM "temperature"')[0]["count"] == 39
    dead = orjson.loads(next((tmp_path / "dead").glob("*.jsonl")).read_bytes())
    assert dead["reason"] == "influx_rejected"
    assert dead["payload"] == lines[17].decode()
    assert "field type conflict" in dead["detail"]
    assert metrics.write_errors.labels("rejected_point")._value.get() == 1


def test_dropped_database_is_recreated_and_nothing_lost(
    client: InfluxClient, tmp_path: Path
) -> None:
    writer, spool, _ = _writer(client, tmp_path)
    writer.start()
    try:
        spool.append([f"water,device=w volume_m3=1.5 {BASE_TS}".encode()])
        wait_for(lambda: spool.pending_bytes() == 0, 20)
        client._query_raw("DROP DATABASE " + quote_ident(client.database), write=True, db=None)
        spool.append([f"water,device=w volume_m3=2.5 {BASE_TS + 1}".encode()])
        wait_for(lambda: spool.pending_bytes() == 0, 20)
    finally:
        writer.stop()
    assert client.query('SELECT "volume_m3" FROM "water"')[0]["volume_m3"] == 2.5


def test_missing_retention_policy_is_reported_and_backs_off(
    influxd: InfluxServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    database = unique("db")
    client = InfluxClient(influxd.url, database, retention_policy="week")
    writer, spool, metrics = _writer(client, tmp_path)
    caplog.set_level(logging.WARNING)
    writer.start()
    try:
        spool.append([f"water,device=w volume_m3=1.5 {BASE_TS}".encode()])
        wait_for(lambda: metrics.write_errors.labels("InfluxUnavailable")._value.get() >= 1, 10)
        assert not writer.healthy
        time.sleep(3)
        attempts = metrics.write_errors.labels("InfluxUnavailable")._value.get()
        assert attempts <= 6  # capped exponential backoff, not a tight loop
        assert "retention policy not found" in caplog.text
        client._query_raw(
            f'CREATE RETENTION POLICY "week" ON "{database}" DURATION 7d REPLICATION 1',
            write=True,
            db=None,
        )
        wait_for(lambda: spool.pending_bytes() == 0, 20)
        assert writer.healthy
    finally:
        writer.stop()
        client.close()


def test_number_fields_written_as_json_numbers_are_stored_as_floats(
    client: InfluxClient, tmp_path: Path
) -> None:
    """``encode_number_fields`` writes ``4`` and ``1e16`` where Python would write
    ``4.0`` and ``1e+16``: influxd stores them as the same floats, into a float field."""
    registry = Registry(tmp_path / "registry.json", SystemClock())
    handler = MessageHandler("campus", lambda _site: True, registry, Metrics(), SystemClock())
    values = [{"celsius": 4.5}, {"celsius": 4}, {"celsius": 1e16}, {"celsius": -1e-7}]
    readings = [reading("f-1", "temperature", BASE_TS + i, **v) for i, v in enumerate(values)]
    out = handler.handle("campus/s/gw-n/readings", envelope("gw-n", 1, readings))
    assert out.record is not None
    assert b"celsius=4 " in out.record  # the JSON form, not Python's 4.0
    client.write(out.record)
    rows = client.query('SELECT "celsius" FROM "temperature" WHERE "device" = \'f-1\'')
    assert [row["celsius"] for row in rows] == [4.5, 4.0, 1e16, -1e-7]
    keys = client.query('SHOW FIELD KEYS FROM "temperature"')
    assert {row["fieldKey"]: row["fieldType"] for row in keys} == {"celsius": "float"}
