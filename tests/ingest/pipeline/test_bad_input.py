"""Bad input through the real broker: rejected with a reason, counted, dead-lettered,
valid neighbours stored, the service keeps running."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import orjson

from ingest.app import IngestService
from ingest.pipeline.handler import EDGE_PER_MIN
from ingest.storage.influx import InfluxClient, quote_string
from tests.harness import BASE_TS, Publisher, count_points, envelope, reading, wait_for


def _dead_letters(state_dir: Path) -> list[dict[str, Any]]:
    return [
        orjson.loads(line)
        for path in sorted((state_dir / "deadletters").glob("*.jsonl"))
        for line in path.read_bytes().splitlines()
    ]


def test_bad_messages_are_dead_lettered_and_valid_readings_stored(
    service: IngestService, publisher: Publisher, db: InfluxClient, config: dict[str, Any]
) -> None:
    root = config["mqtt"]["topic_root"]
    topic = f"{root}/sunshine-kg/gw-gate/readings"
    good = reading("door-1", "door", BASE_TS, open=True)
    mixed = envelope(
        "gw-gate",
        2,
        [
            reading('门 1, "东"=侧', "door", BASE_TS + 1, open=False, locked=True),
            reading("door-2", "toaster", BASE_TS + 2, open=True),
            reading("door-3", "door", BASE_TS + 3, open="yes"),
            reading("bad\\name", "door", BASE_TS + 4, open=True),
            reading("door-5", "door", 5, open=True),
            reading("door-6", "door", BASE_TS + 6, locked=True),  # a lock alone is a door
            reading("door-8", "door", BASE_TS + 8, tamper=False),  # neither open nor locked
            reading("door-7", "door", BASE_TS + 7, open=True, note="extra text dropped"),
        ],
    )
    bad_payloads = [
        b"not json at all",
        b'{"v": 1, "gateway": "gw-gate", "seq": 3, "readings": [{"device": "t", "kind": '
        b'"temperature", "ts": 1795459258120, "values": {"celsius": NaN}}]}',
        envelope("gw-other", 4, [good]),
        orjson.dumps({"v": 2, "gateway": "gw-gate", "seq": 5, "readings": [good]}),
        envelope("gw-gate", 6, []),
        envelope("gw-gate", 7, [good] * 1001),
        b"[" + b" " * 300_000 + b"]",
        b"\xff\xfe binary",
    ]
    publisher.publish_many(
        [(topic, p) for p in bad_payloads]
        + [
            (topic, mixed),
            (f"{root}/sunshine-kg/Bad_GW/readings", envelope("gw-gate", 1, [good])),
            (f"{root}/sunshine-kg/gw-gate/status", b'{"state": "sleeping"}'),
            (topic, envelope("gw-gate", 8, [good])),
        ]
    )

    wait_for(lambda: count_points(db, "door", "open") == 3, 20)
    stored = db.query('SELECT * FROM "door" WHERE "device" = ' + quote_string('门 1, "东"=侧'))
    assert stored[0]["locked"] == 1
    assert count_points(db, "door", "locked") == 2  # door-6, a lock with no contact
    assert db.query('SELECT "note" FROM "door"') == []  # the text field was dropped

    metrics = service.metrics
    assert metrics.rejected.labels("not_json")._value.get() == 3
    for reason in (
        "gateway_mismatch",
        "bad_version",
        "bad_count",
        "too_large",
        "unknown_kind",
        "wrong_type",
        "bad_device",
        "bad_ts",
        "missing_field",
        "bad_status",
    ):
        assert metrics.rejected.labels(reason)._value.get() >= 1, reason
    assert metrics.rejected.labels("bad_count")._value.get() == 2
    assert metrics.fields_dropped.labels("non_numeric_field")._value.get() == 1

    letters = wait_for(
        lambda: (
            len(_dead_letters(service.config.state_dir)) == 11
            and _dead_letters(service.config.state_dir)
        ),
        10,
    )
    by_reason = {letter["reason"] for letter in letters}
    assert {"not_json", "gateway_mismatch", "too_large", "bad_topic", "bad_status"} <= by_reason
    mixed_letter = next(x for x in letters if x.get("payload") == mixed.decode())
    assert "readings[1].kind: unknown kind 'toaster'" in mixed_letter["detail"]
    assert "readings[2].open: open must be a boolean" in mixed_letter["detail"]
    assert any("payload_base64" in x for x in letters)
    assert service.health()["mqtt"]


def test_bad_records_of_alarms_told_by_a_gateway_are_refused_and_a_good_one_kept(
    service: IngestService, publisher: Publisher, config: dict[str, Any]
) -> None:
    base = f"{config['mqtt']['topic_root']}/sunshine-kg/gw-gate"
    meta = {"v": 1, "gateway": "gw-gate", "devices": [{"device": "smoke-1", "kind": "smoke"}]}
    publisher.publish(f"{base}/meta", orjson.dumps(meta), retain=True)
    wait_for(lambda: service.registry.device("sunshine-kg", "gw-gate", "smoke-1"), 10)
    good = {
        "v": 1,
        "gateway": "gw-gate",
        "device": "smoke-1",
        "kind": "smoke",
        "field": "smoke",
        "ts": BASE_TS,
        "told_ts": BASE_TS + 30_000,
        "channels": ["guard-room"],
    }
    two_days = int(time.time() * 1000) + 2 * 86_400_000
    bad = [
        b"{",
        good | {"gateway": "gw-other"},  # another gateway's topic
        good | {"kind": "door", "field": "open"},  # not an edge kind
        good | {"field": "fault"},  # not the alarm field
        good | {"channels": ["guard room\n"]},
        good | {"ts": 5},
        good | {"said": "hello"},
        good | {"told_ts": two_days},  # would stamp the alert in a year the pages cannot show
        good | {"device": "smoke-9"},  # not one of the gateway's devices
    ]
    payloads = [p if isinstance(p, bytes) else orjson.dumps(p) for p in bad]
    publisher.publish_many([(f"{base}/edge", p) for p in [*payloads, orjson.dumps(good)]])

    store = service.alert_store
    wait_for(lambda: store.db.execute("SELECT count(*) FROM edge_told").fetchone()[0] == 1, 10)
    row = store.db.execute("SELECT * FROM edge_told").fetchone()
    assert (row["gateway"], row["device"], row["ts_ms"]) == ("gw-gate", "smoke-1", BASE_TS)
    rejected = service.metrics.rejected
    assert rejected.labels("bad_edge")._value.get() == 7
    assert rejected.labels("gateway_mismatch")._value.get() == 1
    assert rejected.labels("unknown_device")._value.get() == 1
    letters = wait_for(lambda: len(_dead_letters(service.config.state_dir)) == 9 or None, 10)
    assert letters
    details = " | ".join(x["detail"] for x in _dead_letters(service.config.state_dir))
    assert "field of a smoke alarm is 'smoke'" in details
    assert "kind: Input should be 'smoke', 'leak' or 'panic'" in details
    assert "more than a day ahead" in details


def test_a_flood_of_records_from_one_gateway_is_refused_beyond_its_rate(
    service: IngestService, publisher: Publisher, config: dict[str, Any]
) -> None:
    base = f"{config['mqtt']['topic_root']}/sunshine-kg/gw-flood"
    meta = {"v": 1, "gateway": "gw-flood", "devices": [{"device": "smoke-1", "kind": "smoke"}]}
    publisher.publish(f"{base}/meta", orjson.dumps(meta), retain=True)
    wait_for(lambda: service.registry.device("sunshine-kg", "gw-flood", "smoke-1"), 10)
    records = [
        {
            "gateway": "gw-flood",
            "device": "smoke-1",
            "kind": "smoke",
            "field": "smoke",
            "ts": BASE_TS + i,
            "told_ts": BASE_TS + i,
        }
        for i in range(200)
    ]
    publisher.publish_many([(f"{base}/edge", orjson.dumps(r)) for r in records])
    flood = service.metrics.rejected.labels("edge_flood")
    wait_for(lambda: flood._value.get() >= 200 - EDGE_PER_MIN // 2 - 5, 10)
    kept = service.alert_store.db.execute("SELECT count(*) FROM edge_told").fetchone()[0]
    assert EDGE_PER_MIN // 2 <= kept < EDGE_PER_MIN // 2 + 5  # a burst of half a minute's
