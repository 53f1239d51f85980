"""One bad reading never stops storage (issue 20, item 1): a name with a trailing newline
is refused by every check, the encoder never splits a point, and a line that cannot be
stored or booked is dead-lettered alone while the readings behind it are stored."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from campuswatch.protocol import check_text, parse_meta, parse_topic
from campuswatch.protocol.readings import parse_envelope
from ingest.config import IngestConfig
from ingest.metrics import Metrics
from ingest.pipeline.deadletters import DeadLetterStore
from ingest.pipeline.spool import Spool
from ingest.pipeline.writer import InfluxWriter
from ingest.storage.dirty import DirtyHours
from ingest.storage.influx import InfluxClient
from ingest.storage.lineprotocol import encode_point
from tests.harness import BASE_TS, Publisher, count_points, envelope, reading, wait_for

NOW_MS = BASE_TS + 3_600_000


@pytest.mark.parametrize("text", ["fridge-nl\n", "fridge\r", "a\u2028b", "後門\u202e", "x\u200by"])
def test_every_name_check_refuses_line_breaks_and_invisible_characters(text: str) -> None:
    assert check_text(text, "device") is not None
    doc = {
        "v": 1,
        "gateway": "gw-a",
        "seq": 1,
        "readings": [reading(text, "temperature", NOW_MS, celsius=4.0)],
    }
    parsed = parse_envelope(orjson.dumps(doc), "gw-a", NOW_MS)
    assert [p.code for p in parsed.rejected] == ["bad_device"]
    meta = {"v": 1, "gateway": "gw-a", "devices": [{"device": "ok", "kind": "door", "name": text}]}
    assert parse_meta(orjson.dumps(meta), "gw-a").rejected


def test_ids_and_config_names_are_full_matches() -> None:
    assert parse_topic("campus", "campus/site-a\n/gw-a/readings") is None
    assert parse_topic("campus", "campus/site-a/gw-a\n/readings") is None
    base: dict[str, Any] = {
        "site": {"id": "sunshine-kg\n", "name": "x"},
        "mqtt": {"host": "127.0.0.1"},
        "influx": {"url": "http://127.0.0.1:8086", "database": "d"},
        "state_dir": "/tmp/x",
    }
    with pytest.raises(ValidationError, match=r"site\.id"):
        IngestConfig.model_validate(base)


def test_the_encoder_never_splits_a_point(client: InfluxClient) -> None:
    tags = {"device": "fridge-nl\n,x=1 y", "room": "厨房\x85"}
    line = encode_point("temperature", tags, {"celsius": 4.5}, BASE_TS)
    assert "\n" not in line
    assert "\x85" not in line
    client.write(line.encode())
    [row] = client.query('SELECT * FROM "temperature"')
    assert row["device"] == "fridge-nl\\x0a,x=1 y"


def test_a_line_that_cannot_be_stored_or_booked_is_dead_lettered_alone(
    client: InfluxClient, tmp_path: Path
) -> None:
    """The old encoder's output for "fridge-nl\\n" broke into two lines; the writer looped
    on that batch for ever (the dirty book raised after the write). Now each bad line
    goes to dead letters with its reason and everything behind it is stored."""
    spool = Spool(tmp_path / "spool")
    spool.open()
    metrics = Metrics()
    dirty = DirtyHours(tmp_path / "dirty-hours.json", {"temperature": ["temperature"]})
    writer = InfluxWriter(client, spool, DeadLetterStore(tmp_path / "dead"), metrics, dirty=dirty)
    good = [f"temperature,device=t{i} celsius=4.5 {BASE_TS + i}".encode() for i in range(200)]
    broken = f"temperature,device=fridge-nl\n,gateway=gw-a celsius=4.5 {BASE_TS}".encode()
    spool.append([b"\n".join(good[:100]), broken, b"\n".join(good[100:])])
    writer.start()
    try:
        wait_for(lambda: spool.pending_bytes() == 0, 20)
    finally:
        writer.stop()
    assert count_points(client, "temperature", "celsius") == 200
    letters = [
        orjson.loads(line)
        for f in (tmp_path / "dead").glob("*.jsonl")
        for line in f.read_bytes().splitlines()
    ]
    assert sorted(x["payload"] for x in letters) == sorted(
        part.decode() for part in broken.split(b"\n")
    )
    assert all(x["reason"] in ("influx_rejected", "not_storable") for x in letters)
    assert dirty.waiting() == 1  # the good readings' hour is booked


def test_a_bad_name_in_one_envelope_holds_up_nobody(
    service: Any, config: dict[str, Any], publisher: Publisher, db: InfluxClient
) -> None:
    root = config["mqtt"]["topic_root"]
    now = int(time.time() * 1000)
    bad = [
        reading("fridge-nl\n", "temperature", now, celsius=4.0),
        reading("fridge-ok", "temperature", now, celsius=4.0),
    ]
    publisher.publish(f"{root}/sunshine-kg/gw-a/readings", envelope("gw-a", 1, bad))
    others = [
        (
            f"{root}/sunshine-kg/gw-b/readings",
            envelope("gw-b", seq, [reading("fridge-b", "temperature", now - seq, celsius=5.0)]),
        )
        for seq in range(1, 201)
    ]
    publisher.publish_many(others)
    wait_for(lambda: count_points(db, "temperature", "celsius") == 201, 30)
    assert service.metrics.rejected.labels("bad_device")._value.get() == 1
    assert service.health()["status"] == "ok"


def test_readings_older_than_the_retention_are_refused_at_the_door(
    service: Any,
    config: dict[str, Any],
    publisher: Publisher,
    db: InfluxClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Item 11: 4 envelopes of 2021 readings once delayed another gateway by 12 s and
    wrote 1,000 ERROR lines each; now they are refused before the spool, once each."""
    root = config["mqtt"]["topic_root"]
    old = 1_620_000_000_000  # 2021-05: valid for the protocol, outside 400 days
    for seq in range(1, 5):
        batch = [reading(f"m-{i}", "water", old + i, volume_m3=1.0) for i in range(1000)]
        publisher.publish(f"{root}/sunshine-kg/gw-old/readings", envelope("gw-old", seq, batch))
    now = int(time.time() * 1000)
    marker = [reading("fridge-b", "temperature", now, celsius=5.0)]
    publisher.publish(f"{root}/sunshine-kg/gw-b/readings", envelope("gw-b", 1, marker))
    wait_for(lambda: count_points(db, "temperature", "celsius") == 1, 10)
    wait_for(lambda: service.metrics.rejected.labels("too_old")._value.get() == 4000, 10)
    assert count_points(db, "water", "volume_m3") == 0
    assert service.metrics.write_errors.labels("rejected_point")._value.get() == 0
    refused = [r for r in caplog.records if "rejected on" in r.getMessage()]
    assert 1 <= len(refused) <= 2  # the first at once, the rest counted in the next line
