"""Camera snapshots at the server: bad ones refused and kept aside, retention by age and size."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from campuswatch.protocol import DeviceRef
from ingest.app import IngestService
from ingest.config import IngestConfig
from ingest.storage.snapshots import MAX_JPEG_BYTES, SnapshotStore, check_snapshot
from ingest.web.app import create_api
from tests.clock import ManualClock
from tests.harness import Publisher, envelope, reading, wait_for
from tests.receivers import http_receiver

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 1000 + b"\xff\xd9"
GATE = DeviceRef("sunshine-kg", "gw-gate", "cam-gate")


def _topic(config: dict[str, Any], device: str, snapshot_id: str) -> str:
    return f"{config['mqtt']['topic_root']}/sunshine-kg/gw-gate/snapshots/{device}/{snapshot_id}"


def test_bad_snapshots_are_refused_the_good_one_beside_them_kept(
    service: IngestService, publisher: Publisher, config: dict[str, Any]
) -> None:
    bad = {
        "not-a-jpeg": b"GIF89a....",
        "..": JPEG,  # would climb out of the snapshot folder
        "huge": b"\xff\xd8\xff" + b"\x00" * MAX_JPEG_BYTES + b"\xff\xd9",
    }
    for snapshot_id, payload in bad.items():
        publisher.publish(_topic(config, "cam-gate", snapshot_id), payload)
    publisher.publish(_topic(config, "cam-gate", "1796000000000-abc123"), JPEG)
    publisher.publish(_topic(config, "cam-gate", "1796000000000-abc123"), JPEG)  # redelivered
    wait_for(lambda: service.snapshots.get(GATE, "1796000000000-abc123"), 10)
    wait_for(lambda: _rejected(service) == 3, 10)
    assert service.snapshots.latest(GATE).id == "1796000000000-abc123"  # type: ignore[union-attr]
    letters = list((Path(config["state_dir"]) / "deadletters").rglob("*"))
    assert letters, "the refused snapshots are kept as dead letters"
    assert service.snapshots.prune() == 0
    assert service.snapshots._total == len(JPEG)  # the repeat overwrote itself


def _rejected(service: IngestService) -> float:
    value = service.metrics.registry.get_sample_value(
        "campus_rejected_total", {"reason": "bad_snapshot"}
    )
    return value or 0.0


@pytest.mark.parametrize(
    ("snapshot_id", "payload", "reason"),
    [
        ("ok-1", JPEG, None),
        (".hidden", JPEG, "no leading dot"),
        ("a" * 129, JPEG, "1-128"),
        ("ok-2", b"\xff\xd8\xff" + b"\x00" * 10, "not a JPEG"),
    ],
)
def test_check_snapshot(snapshot_id: str, payload: bytes, reason: str | None) -> None:
    problem = check_snapshot(snapshot_id, payload)
    assert (problem is None) if reason is None else (reason in (problem or ""))


def test_retention_by_age_then_by_size(tmp_path: Path) -> None:
    clock = ManualClock(1_796_000_000.0)
    store = SnapshotStore(tmp_path / "snapshots", keep_days=2, max_bytes=3 * len(JPEG), clock=clock)
    store.open()
    cam = DeviceRef("s", "gw", "cam")
    for day in range(4):  # one snapshot a day for four days
        store.save(cam, f"day-{day}", JPEG)
        clock.advance(86_400)
    # Saving the fourth went past 3 snapshots' worth: the oldest went at once.
    assert store.get(cam, "day-0") is None
    # Now (day 4) day-1 is more than two days old, day-2 exactly two.
    day_1 = store.get(cam, "day-1")
    assert day_1 is not None
    assert store.prune() == 1
    assert store.get(cam, "day-1") is None
    assert store.get(cam, "day-2") is not None
    assert not day_1.path.exists()
    assert store.latest(cam).id == "day-3"  # type: ignore[union-attr]
    store.close()


def test_a_snapshot_link_opens_only_with_its_alert_and_while_it_lasts(
    config: dict[str, Any], publisher: Publisher, tmp_path: Path
) -> None:
    """Item 14: pictures of children at the gate once opened for 30 days to anyone with
    the link; now the link names its alert and stops an hour after the alert ended."""
    with http_receiver() as receiver:
        config["channels"] = {"patrol": {"type": "webhook", "url": receiver.url()}}
        rule = {"id": "person", "kind": "camera", "when": {"field": "persons", "ge": 1}}
        config["rules"] = [{**rule, "notify": ["patrol"]}]
        service = IngestService(IngestConfig.model_validate(config))
        service.start()
        try:
            assert service.wait_ready()
            root = f"{config['mqtt']['topic_root']}/sunshine-kg/gw-gate"
            jpeg = b"\xff\xd8\xff\xe0" + b"K" * 500 + b"\xff\xd9"
            publisher.publish(f"{root}/snapshots/cam-1/snap-1", jpeg)
            now = int(time.time() * 1000)
            seen = [reading("cam-1", "camera", now, motion=True, persons=1, snapshot="snap-1")]
            publisher.publish(f"{root}/readings", envelope("gw-gate", 1, seen))
            body = wait_for(lambda: next(iter(receiver.bodies()), None), 10)
            link = urlsplit(body["snapshot_url"])
            assert f"alert={body['alert_id']}" in link.query
            with TestClient(create_api(service)) as api:
                assert api.get(f"{link.path}?{link.query}").content == jpeg
                other = link.query.replace(f"alert={body['alert_id']}", "alert=999")
                assert api.get(f"{link.path}?{other}").status_code == 401
                with service.alert_store.lock:  # the alert ended two hours ago
                    service.alert_store.db.execute(
                        "UPDATE alerts SET state = 'resolved', resolved_ms = ?", (now - 7_200_000,)
                    )
                assert api.get(f"{link.path}?{link.query}").status_code == 401
        finally:
            service.stop()
