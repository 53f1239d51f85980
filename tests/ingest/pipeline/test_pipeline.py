"""End-to-end: QoS 1 publish -> ingest -> InfluxDB, against real mosquitto and influxd."""

from __future__ import annotations

import random
from typing import Any

import orjson

from ingest.app import IngestService
from ingest.config import IngestConfig
from ingest.storage.influx import InfluxClient
from tests.harness import BASE_TS, Publisher, count_points, envelope, reading, unique, wait_for


def _meta(gateway: str) -> bytes:
    return orjson.dumps(
        {
            "v": 1,
            "gateway": gateway,
            "devices": [
                {
                    "device": f"door-{i}",
                    "kind": "door",
                    "name": f"门 {i}",
                    "interval_s": 30,
                    "tags": {"building": "main", "room": f"10{i}"},
                }
                for i in range(5)
            ],
        }
    )


def test_ten_thousand_readings_in_mixed_envelopes_all_stored(
    service: IngestService, publisher: Publisher, db: InfluxClient, config: dict[str, Any]
) -> None:
    root = config["mqtt"]["topic_root"]
    gw = "gw-gate"
    publisher.publish(f"{root}/sunshine-kg/{gw}/meta", _meta(gw), retain=True)
    # Tags come from meta: wait until it is known before the readings arrive.
    wait_for(lambda: any(r["name"] for r in service.registry.device_rows()), 10)
    rng = random.Random(7)
    messages, total, seq, ts = [], 0, 0, BASE_TS
    while total < 10_000:
        size = min(rng.choice([1, 1, 5, 50, 200, 1000]), 10_000 - total)
        batch = []
        for _ in range(size):
            ts += 1
            batch.append(
                reading(f"door-{ts % 5}", "door", ts, open=ts % 2 == 0, locked=True, battery=87.5)
            )
        seq += 1
        messages.append((f"{root}/sunshine-kg/{gw}/readings", envelope(gw, seq, batch)))
        total += size
    publisher.publish_many(messages)

    wait_for(lambda: count_points(db, "door", "open") == 10_000, 60)
    rows = db.query('SELECT * FROM "door" WHERE "device" = \'door-3\' LIMIT 2')
    assert rows[0]["building"] == "main"
    assert rows[0]["room"] == "103"
    assert rows[0]["site"] == "sunshine-kg"
    assert rows[0]["gateway"] == gw
    assert {rows[0]["open"], rows[1]["open"]} <= {0, 1}
    assert isinstance(rows[0]["open"], int)
    assert rows[0]["locked"] == 1
    assert rows[0]["battery"] == 87.5
    sums = db.query('SELECT sum("open") FROM "door"')
    assert sums[0]["sum"] == 5_000  # integer-encoded bools add up
    assert service.metrics.seq_gaps.labels(gw)._value.get() == 0


def test_redelivered_envelopes_do_not_duplicate_points(
    service: IngestService, publisher: Publisher, db: InfluxClient, config: dict[str, Any]
) -> None:
    root = config["mqtt"]["topic_root"]
    topic = f"{root}/sunshine-kg/gw-canteen/readings"
    payload = envelope(
        "gw-canteen",
        1,
        [reading("fridge-cold-1", "temperature", BASE_TS + i, celsius=4.0 + i) for i in range(20)],
    )
    publisher.publish_many([(topic, payload)] * 3)
    wait_for(lambda: service.metrics.seq_repeats.labels("gw-canteen")._value.get() == 2, 20)
    # All three copies were written (the redeliveries overwrite the same points) ...
    wait_for(lambda: service.metrics.readings_stored._value.get() == 60, 20)
    # ... and InfluxDB holds each reading once.
    assert count_points(db, "temperature", "celsius") == 20


def test_seq_gap_is_counted(
    service: IngestService, publisher: Publisher, config: dict[str, Any]
) -> None:
    root = config["mqtt"]["topic_root"]
    topic = f"{root}/sunshine-kg/gw-a/readings"
    for seq in (10, 11, 15):
        publisher.publish(
            topic, envelope("gw-a", seq, [reading("m1", "water", BASE_TS + seq, volume_m3=1.5)])
        )
    wait_for(lambda: service.metrics.seq_gaps.labels("gw-a")._value.get() == 3, 10)


def test_meta_tags_survive_a_restart_before_meta_is_seen_again(
    config: dict[str, Any], publisher: Publisher, db: InfluxClient
) -> None:
    root = config["mqtt"]["topic_root"]
    first = IngestService(IngestConfig.model_validate(config))
    first.start()
    try:
        publisher.publish(f"{root}/sunshine-kg/gw-gate/meta", _meta("gw-gate"), retain=True)
        wait_for(lambda: any(r["tags"] for r in first.registry.device_rows()), 10)
    finally:
        first.stop()
    # The broker lost its retained messages (no persistence) and the ingest its session:
    # cleared with a new session, so the empty meta (a gateway taken out of service) is
    # not queued for the ingest's own.
    publisher.publish(f"{root}/sunshine-kg/gw-gate/meta", b"", retain=True)
    fresh = {**config, "mqtt": {**config["mqtt"], "client_id": unique("ingest-")}}
    second = IngestService(IngestConfig.model_validate(fresh))
    second.start()
    try:
        assert second.wait_ready()
        publisher.publish(
            f"{root}/sunshine-kg/gw-gate/readings",
            envelope("gw-gate", 1, [reading("door-2", "door", BASE_TS, open=True)]),
        )
        wait_for(lambda: count_points(db, "door", "open") == 1, 10)
    finally:
        second.stop()
    assert db.query('SELECT * FROM "door"')[0]["room"] == "102"
