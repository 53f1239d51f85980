"""What a hostile or broken gateway can send, through the real broker into a running
service: oversized and flooding meta, forged sequence numbers, refused input that would
fill the disk, and meta that takes a device away from the rule that has it alerting."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest

from ingest.app import IngestService
from ingest.config import IngestConfig
from ingest.pipeline.deadletters import DeadLetter, DeadLetterStore
from ingest.storage.influx import InfluxClient
from tests.harness import Publisher, count_points, envelope, reading, wait_for
from tests.receivers import HttpReceiver, http_receiver

SITE = "sunshine-kg"
FRIDGE_RULE = {
    "id": "fridge_warm",
    "kind": "temperature",
    "where": {"class": "refrigerator"},
    "when": {"field": "celsius", "gt": 8},
    "severity": "critical",
    "notify": ["canteen"],
}


@contextmanager
def running(config: dict[str, Any]) -> Iterator[IngestService]:
    """A service on ``config``, stopped afterwards."""
    service = IngestService(IngestConfig.model_validate(config))
    service.start()
    try:
        assert service.wait_ready(), "the ingest never subscribed"
        yield service
    finally:
        service.stop()


def _topic(config: dict[str, Any], gateway: str, channel: str) -> str:
    return f"{config['mqtt']['topic_root']}/{SITE}/{gateway}/{channel}"


def _meta(gateway: str, devices: list[dict[str, Any]]) -> bytes:
    return orjson.dumps({"v": 1, "gateway": gateway, "devices": devices})


def _fridge(device: str, **tags: str) -> dict[str, Any]:
    return {"device": device, "kind": "temperature", "name": f"冷藏柜 {device}", "tags": tags}


def _sample(service: IngestService, name: str, **labels: str) -> float:
    return service.metrics.registry.get_sample_value(name, labels) or 0.0


def _devices(service: IngestService, gateway: str) -> set[str]:
    return {d.device for d in service.registry.devices() if d.gateway == gateway}


def test_meta_beyond_the_limits_is_refused_or_cut_and_counted(
    config: dict[str, Any], publisher: Publisher, db: InfluxClient
) -> None:
    config["limits"] = {"meta_kb": 64, "devices_per_gateway": 5}
    with running(config) as service:
        publisher.publish(_topic(config, "gw-a", "meta"), _meta("gw-a", [_fridge("f-1")]))
        wait_for(lambda: _devices(service, "gw-a") == {"f-1"}, 10)
        # 3.4 MB of meta: refused before it is parsed; the devices known stay.
        flood = _meta("gw-a", [_fridge(f"x{i:06d}", room="r" * 60) for i in range(25_000)])
        assert len(flood) > 3_000_000
        publisher.publish(_topic(config, "gw-a", "meta"), flood)
        wait_for(lambda: _sample(service, "campus_rejected_total", reason="meta_too_large"), 10)
        assert _devices(service, "gw-a") == {"f-1"}
        # Eight devices where five are allowed: the first five are kept.
        publisher.publish(
            _topic(config, "gw-a", "meta"), _meta("gw-a", [_fridge(f"f-{i}") for i in range(8)])
        )
        wait_for(lambda: len(_devices(service, "gw-a")) == 5, 10)
        assert _devices(service, "gw-a") == {f"f-{i}" for i in range(5)}
        # Readings of devices beyond the limit are stored, the devices not tracked.
        now = int(time.time() * 1000)
        readings = [reading(f"r-{i}", "temperature", now, celsius=4.0) for i in range(10)]
        publisher.publish(_topic(config, "gw-a", "readings"), envelope("gw-a", 1, readings))
        wait_for(lambda: count_points(db, "temperature", "celsius") == 10, 20)
        assert len(_devices(service, "gw-a")) == 5
        untracked = _sample(service, "campus_devices_untracked_total", gateway="gw-a")
        assert untracked == 3 + 10
        health = service.health()
        assert health["refused"]["meta_too_large"] == 1
        assert health["refused"]["devices_untracked"] == 13
        [kept] = (service.config.state_dir / "deadletters").iterdir()
        assert kept.stat().st_size < 8192  # an excerpt, not 3.4 MB on disk
        letter = orjson.loads(kept.read_bytes())
        assert letter["reason"] == "meta_too_large"
        assert letter["payload_bytes"] == len(flood)


def test_a_new_meta_replaces_the_device_list_and_survives_a_restart(
    config: dict[str, Any], publisher: Publisher
) -> None:
    topic = _topic(config, "gw-b", "meta")
    with running(config) as service:
        publisher.publish(topic, _meta("gw-b", [_fridge(f"f-{i}") for i in range(100)]))
        wait_for(lambda: len(_devices(service, "gw-b")) == 100, 10)
        publisher.publish(topic, _meta("gw-b", [_fridge("f-7")]))
        wait_for(lambda: _devices(service, "gw-b") == {"f-7"}, 10)
    saved = orjson.loads((Path(config["state_dir"]) / "registry.json").read_bytes())
    assert [d["device"] for d in saved["devices"]] == ["f-7"]
    with running(config) as service:
        assert _devices(service, "gw-b") == {"f-7"}


def test_a_forged_seq_is_a_reset_not_a_gap_of_a_trillion(
    config: dict[str, Any], publisher: Publisher, db: InfluxClient
) -> None:
    topic = _topic(config, "gw-c", "readings")
    now = int(time.time() * 1000)
    with running(config) as service:
        for i, seq in enumerate((1, 2, 10**18, 10**18 + 1, 3, 5)):
            one = [reading("t-1", "temperature", now + i, celsius=4.0)]
            publisher.publish(topic, envelope("gw-c", seq, one))
        wait_for(lambda: count_points(db, "temperature", "celsius") == 6, 20)
        assert _sample(service, "campus_seq_resets_total", gateway="gw-c") == 2
        assert _sample(service, "campus_seq_gap_envelopes_total", gateway="gw-c") == 1  # 4
        assert service.health()["refused"]["seq_resets"] == 2


def test_refused_input_cannot_fill_the_disk(config: dict[str, Any], publisher: Publisher) -> None:
    config["dead_letters"] = {"max_mb": 1, "keep_days": 30}
    topic = _topic(config, "gw-d", "readings")
    now = int(time.time() * 1000)
    toasters = [reading(f"d-{i}", "toaster", now, note="x" * 120) for i in range(1000)]
    with running(config) as service:
        # 40 envelopes of 200 KB that are JSON but all wrong: kept whole (they could be
        # replayed once fixed), until the store holds its 1 MB...
        refused = envelope("gw-d", 1, toasters)
        assert 150_000 < len(refused) < 256 << 10
        publisher.publish_many([(topic, refused)] * 40)
        # ... then garbage: 100 x 200 KB that is not JSON, and one 4 MiB message, kept as
        # excerpts of 4 KiB with their size.
        publisher.publish_many([(topic, b"x" * 200_000)] * 100)
        publisher.publish(topic, b"{" * (4 << 20))
        wait_for(lambda: _sample(service, "campus_rejected_total", reason="too_large") == 1, 20)
        wait_for(lambda: _sample(service, "campus_dead_letters_dropped_total") > 0, 10)
        used = sum(p.stat().st_size for p in (service.config.state_dir / "deadletters").iterdir())
        assert used <= 1 << 20
        assert service.health()["refused"]["dead_letters_dropped"] >= 30


def test_dead_letters_older_than_keep_days_are_deleted(tmp_path: Path) -> None:
    old = tmp_path / "2020-01-01.jsonl"
    old.write_bytes(b'{"reason": "not_json"}\n')
    store = DeadLetterStore(tmp_path, max_bytes=1 << 20, keep_days=30)
    assert store.write([DeadLetter("t/x", "not_json", "not JSON", b"nope")]) == 0
    assert not old.exists()
    [today] = tmp_path.iterdir()
    assert orjson.loads(today.read_bytes())["payload"] == "nope"


@pytest.fixture
def canteen() -> Iterator[HttpReceiver]:
    with http_receiver() as receiver:
        yield receiver


def _states(receiver: HttpReceiver) -> list[tuple[str, str]]:
    return [(b["state"], b["message"]) for b in receiver.bodies()]


def test_an_alert_ends_with_a_reason_when_its_device_stops_matching(
    config: dict[str, Any], publisher: Publisher, canteen: HttpReceiver
) -> None:
    config["channels"] = {"canteen": {"type": "webhook", "url": canteen.url()}}
    config["rules"] = [FRIDGE_RULE]
    meta, readings = _topic(config, "gw-k", "meta"), _topic(config, "gw-k", "readings")
    fridges = [
        _fridge("f-1", **{"class": "refrigerator"}),
        _fridge("f-2", **{"class": "refrigerator"}),
    ]
    seq = iter(range(1, 100))

    def warm(device: str) -> None:
        now = int(time.time() * 1000)
        one = [reading(device, "temperature", now, celsius=12.5)]
        publisher.publish(readings, envelope("gw-k", next(seq), one))

    with running(config):
        publisher.publish(meta, _meta("gw-k", fridges), retain=True)
        warm("f-1")
        warm("f-2")
        wait_for(lambda: [s for s, _ in _states(canteen)] == ["firing", "firing"], 10)
        # f-1 is no longer a refrigerator (its tags were rewritten); f-2 is gone.
        publisher.publish(
            meta, _meta("gw-k", [_fridge("f-1", **{"class": "storage"})]), retain=True
        )
        wait_for(lambda: len(canteen.bodies()) == 4, 10)
        ended = {b["device"]: b for b in canteen.bodies()[2:]}
        assert {b["state"] for b in ended.values()} == {"resolved"}
        assert ended["f-1"]["title"] == "【已结束】温度超限"
        assert "结束原因：设备的标签已改变，不再适用此规则" in ended["f-1"]["message"]
        assert "结束原因：设备已从网关的设备列表中移除" in ended["f-2"]["message"]
        # Once a refrigerator again, a warm f-1 alerts again (nothing stays stuck).
        publisher.publish(meta, _meta("gw-k", fridges), retain=True)
        warm("f-1")
        wait_for(lambda: [s for s, _ in _states(canteen)][4:] == ["firing"], 10)
