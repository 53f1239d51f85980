"""Two campuses on one service, both with a gateway ``gw-gate`` and the same device ids:
nothing of one is merged into the other (registry, alerts, silence, snapshots, meters),
and state files of the version that keyed them by id alone are migrated."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
import paho.mqtt.client as mqtt
import pytest
from fastapi.testclient import TestClient
from paho.mqtt.enums import CallbackAPIVersion

from campuswatch.protocol import DeviceInfo, DeviceRef
from demo.services import InfluxServer, MosquittoServer
from ingest.app import IngestService
from ingest.config import IngestConfig
from ingest.config.reports import ReportsConfig
from ingest.registry import Registry
from ingest.reports.meters import MeterStore
from ingest.reports.usage import UsageReports
from ingest.rules.store import AlertStore, ConditionState
from ingest.storage.influx import InfluxClient
from ingest.storage.lineprotocol import encode_point
from ingest.storage.meter_hours import MeterHours
from ingest.storage.series import SeriesHeads
from ingest.storage.snapshots import SnapshotStore
from ingest.web.app import create_api
from tests.clock import ManualClock
from tests.harness import Publisher, envelope, reading, unique, wait_for
from tests.ingest.reports.data import every, local
from tests.receivers import HttpReceiver, http_receiver

VIEWER = {"Authorization": "Bearer viewer-token-1"}
JPEG_A = b"\xff\xd8\xff\xe0" + b"A" * 500 + b"\xff\xd9"
JPEG_B = b"\xff\xd8\xff\xe0" + b"B" * 500 + b"\xff\xd9"
RULES = [
    {
        "id": "door-open",
        "kind": "door",
        "when": {"field": "open", "eq": True},
        "notify": ["patrol"],
    },
    {"id": "person", "kind": "camera", "when": {"field": "persons", "ge": 1}, "notify": ["patrol"]},
    {"id": "gateway-offline", "gateway_offline": "1h", "notify": ["patrol"]},
]


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with http_receiver() as r:
        yield r


@pytest.fixture
def two_campuses(config: dict[str, Any], receiver: HttpReceiver) -> Iterator[IngestService]:
    config["channels"] = {"patrol": {"type": "webhook", "url": receiver.url()}}
    config["rules"] = RULES
    config["site"]["also_serves"] = ["campus-a", "campus-b"]
    service = IngestService(IngestConfig.model_validate(config))
    service.start()
    assert service.wait_ready()
    yield service
    service.stop()


def _topic(config: dict[str, Any], site: str, channel: str) -> str:
    return f"{config['mqtt']['topic_root']}/{site}/gw-gate/{channel}"


def _meta(site: str, building: str) -> bytes:
    devices = [
        {
            "device": "door-1",
            "kind": "door",
            "name": f"{building} door",
            "tags": {"building": building},
        },
        {"device": "cam-1", "kind": "camera", "name": f"{building} camera"},
    ]
    return orjson.dumps({"v": 1, "gateway": "gw-gate", "devices": devices})


def test_same_gateway_and_device_ids_on_two_sites_stay_apart(
    two_campuses: IngestService,
    publisher: Publisher,
    config: dict[str, Any],
    receiver: HttpReceiver,
) -> None:
    service = two_campuses
    for site, building in (("campus-a", "north"), ("campus-b", "south")):
        publisher.publish(_topic(config, site, "meta"), _meta(site, building), retain=True)
    now = int(time.time() * 1000)
    # The same snapshot id from both cameras: two pictures, neither replaces the other.
    publisher.publish(_topic(config, "campus-a", "snapshots/cam-1/snap-1"), JPEG_A)
    publisher.publish(_topic(config, "campus-b", "snapshots/cam-1/snap-1"), JPEG_B)
    publisher.publish(
        _topic(config, "campus-a", "readings"),
        envelope(
            "gw-gate",
            1,
            [
                reading("door-1", "door", now, open=True, locked=False),
                reading("cam-1", "camera", now, motion=True, persons=1, snapshot="snap-1"),
            ],
        ),
    )
    publisher.publish(
        _topic(config, "campus-b", "readings"),
        envelope("gw-gate", 1, [reading("door-1", "door", now, open=False, locked=True)]),
    )
    bodies = wait_for(lambda: receiver.bodies() if len(receiver.bodies()) >= 2 else None, 10)
    # Only campus A's door is open; B's closed door does not resolve it.
    door = next(b for b in bodies if b["rule"] == "door-open")
    assert (door["site"], door["device"], door["tags"]) == (
        "campus-a",
        "door-1",
        {"building": "north"},
    )
    time.sleep(0.5)
    assert [b["state"] for b in receiver.bodies() if b["rule"] == "door-open"] == ["firing"]
    # The camera alert links campus A's picture, and the link opens that picture.
    person = next(b for b in bodies if b["rule"] == "person")
    with TestClient(create_api(service)) as api:
        link = urlsplit(person["snapshot_url"])
        assert link.path == "/api/snapshots/campus-a/gw-gate/cam-1/snap-1"
        assert api.get(f"{link.path}?{link.query}").content == JPEG_A
        other = api.get(f"/api/snapshots/campus-b/gw-gate/cam-1/snap-1?{link.query}")
        assert other.status_code == 401, "a link opens its own camera's picture only"
        assert api.get(link.path.replace("campus-a", "campus-b"), headers=VIEWER).content == JPEG_B
        # Two cameras named cam-1: "latest" needs to know which.
        assert api.get("/api/cameras/cam-1/snapshots/latest", headers=VIEWER).status_code == 409
        latest = api.get(
            "/api/cameras/cam-1/snapshots/latest", params={"site": "campus-b"}, headers=VIEWER
        )
        assert latest.content == JPEG_B
        devices = api.get("/api/devices", headers=VIEWER).json()
    doors = sorted(
        (d["site"], d["name"], d["values"]["open"]) for d in devices if d["device"] == "door-1"
    )
    assert doors == [("campus-a", "north door", True), ("campus-b", "south door", False)]
    # Campus B's gateway going offline is not campus A's.
    publisher.publish(
        _topic(config, "campus-b", "status"),
        orjson.dumps({"state": "offline", "ts": now}),
        retain=True,
    )
    wait_for(lambda: service.registry.gateway_status().get(("campus-b", "gw-gate")) == "offline", 5)
    assert service.registry.gateway_status()[("campus-a", "gw-gate")] is None


def test_an_alert_store_of_the_previous_version_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "alerts.db"
    with sqlite3.connect(path) as old:
        old.executescript(
            """
            CREATE TABLE conditions (rule TEXT NOT NULL, gateway TEXT NOT NULL,
                device TEXT NOT NULL, holds INTEGER NOT NULL, since_ms INTEGER NOT NULL,
                PRIMARY KEY (rule, gateway, device));
            CREATE TABLE alerts (id INTEGER PRIMARY KEY AUTOINCREMENT, rule TEXT NOT NULL,
                site TEXT NOT NULL, gateway TEXT NOT NULL, device TEXT NOT NULL,
                kind TEXT NOT NULL, severity TEXT NOT NULL, state TEXT NOT NULL,
                since_ms INTEGER NOT NULL, title TEXT NOT NULL, field TEXT, value REAL,
                tags TEXT NOT NULL, name TEXT, started_ms INTEGER, acknowledged_by TEXT,
                ack_note TEXT, acknowledged_ms INTEGER, resolved_ms INTEGER,
                last_notified_ms INTEGER, escalated INTEGER NOT NULL DEFAULT 0);
            INSERT INTO alerts (rule, site, gateway, device, kind, severity, state, since_ms,
                title, tags) VALUES ('door', 'campus-b', 'gw-gate', 'door-1', 'door',
                'warning', 'resolved', 1, 'x', '{}');
            INSERT INTO conditions VALUES ('door', 'gw-gate', 'door-1', 1, 1000);
            INSERT INTO conditions VALUES ('fridge', 'gw-canteen', 'fridge-1', 0, 2000);
            """
        )
    store = AlertStore(path, "campus-a")
    store.open()
    try:
        assert store.conditions() == {
            ("door", "campus-b", "gw-gate", "door-1"): ConditionState(True, 1000),
            ("fridge", "campus-a", "gw-canteen", "fridge-1"): ConditionState(False, 2000),
        }
        old_alert = store.alert(1)
        assert old_alert is not None
        assert (old_alert.rule, old_alert.snapshot) == ("door", None)
    finally:
        store.close()


def test_a_snapshot_index_of_the_previous_version_is_migrated(tmp_path: Path) -> None:
    folder = tmp_path / "snapshots"
    (folder / "2026-11-23").mkdir(parents=True)
    picture = folder / "2026-11-23" / "snap-1.jpg"
    picture.write_bytes(JPEG_A)
    with sqlite3.connect(folder / "index.db") as old:
        old.executescript(
            f"""
            CREATE TABLE snapshots (id TEXT PRIMARY KEY, site TEXT NOT NULL,
                gateway TEXT NOT NULL, device TEXT NOT NULL, received_ms INTEGER NOT NULL,
                bytes INTEGER NOT NULL, path TEXT NOT NULL);
            INSERT INTO snapshots VALUES ('snap-1', 'campus-a', 'gw-gate', 'cam-1',
                1796000000000, {len(JPEG_A)}, '{picture}');
            INSERT INTO snapshots VALUES ('gone', 'campus-a', 'gw-gate', 'cam-1',
                1796000000000, 10, '{folder / "missing.jpg"}');
            """
        )
    store = SnapshotStore(folder, 30, 1 << 20, ManualClock(1_796_000_000.0))
    store.open()
    try:
        kept = store.get(DeviceRef("campus-a", "gw-gate", "cam-1"), "snap-1")
        assert kept is not None
        assert kept.sha256 == hashlib.sha256(JPEG_A).hexdigest()
        assert store.get(DeviceRef("campus-a", "gw-gate", "cam-1"), "gone") is None
        # A new camera with the same snapshot id is a snapshot of its own.
        store.save(DeviceRef("campus-b", "gw-gate", "cam-1"), "snap-1", JPEG_B)
        assert kept.path.read_bytes() == JPEG_A
    finally:
        store.close()


def test_a_registry_keeps_two_sites_apart_across_a_restart(tmp_path: Path) -> None:
    clock = ManualClock(1_796_000_000.0)
    registry = Registry(tmp_path / "registry.json", clock)
    for site, room in (("campus-a", "101"), ("campus-b", "202")):
        info = DeviceInfo(device="door-1", kind="door", tags={"room": room})
        registry.update_meta(site, "gw-gate", [info])
    registry.save()
    again = Registry(tmp_path / "registry.json", clock)
    again.load()
    rooms = {
        site: again.device_info(site, "gw-gate", "door-1") for site in ("campus-a", "campus-b")
    }
    assert {s: i.tags["room"] for s, i in rooms.items() if i} == {
        "campus-a": "101",
        "campus-b": "202",
    }
    assert SeriesHeads(again).head("campus-b", "gw-gate", "door-1", "door") == (
        "door,device=door-1,gateway=gw-gate,room=202,site=campus-b"
    )


def test_two_sites_meters_with_the_same_id_are_reported_apart(
    influxd: InfluxServer, tmp_path: Path
) -> None:
    client = InfluxClient(influxd.url, unique("sites"))
    client.create_database()
    start = local("2026-11-15 23:00")  # an hour before week 2026-W47, to the end of it
    lines = []
    for site, per_hour in (("campus-a", 1.0), ("campus-b", 2.0)):
        tags = {"site": site, "gateway": "gw-meter", "device": "meter-main"}
        for hour, t in enumerate(every(start, local("2026-11-23 00:00"), timedelta(hours=1))):
            point = encode_point(
                "electricity",
                tags,
                {"energy_kwh": 100 + hour * per_hour},
                int(t.timestamp() * 1000),
            )
            lines.append(point)
    client.write("\n".join(lines).encode())
    clock = ManualClock(local("2026-11-24 00:00").timestamp())
    hours = MeterHours(client, "Asia/Shanghai")
    hours.refresh(int(start.timestamp()), int(clock.time()))
    registry = Registry(tmp_path / "registry.json", clock)
    reports = UsageReports(
        MeterStore(client, registry), hours, ReportsConfig(), "Asia/Shanghai", "en", clock
    )
    try:
        week = reports.weekly("2026-W47")
        daily = reports.daily("2026-11-22")
    finally:
        client.close()
    assert sorted((m.site, m.consumption) for m in week.meters) == [
        ("campus-a", 168.0),
        ("campus-b", 336.0),
    ]
    assert week.totals["electricity_kwh"] == 504.0
    assert sorted((m.site, m.consumption) for m in daily.meters) == [
        ("campus-a", 24.0),
        ("campus-b", 48.0),
    ]


def _old_session(port: int, client_id: str, topic: str) -> None:
    """A persistent session subscribed to ``topic``, as an earlier version or an earlier
    configuration left it in the broker."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)
    subscribed = threading.Event()
    client.on_subscribe = lambda *_args: subscribed.set()
    client.connect("127.0.0.1", port)
    client.loop_start()
    client.subscribe(topic, qos=1)
    assert subscribed.wait(10)
    client.disconnect()
    client.loop_stop()


def _refused(service: IngestService) -> float | None:
    return service.metrics.registry.get_sample_value(
        "campus_rejected_total", {"reason": "site_not_served"}
    )


def test_a_message_of_a_site_not_served_is_refused_by_the_handler_too(
    service: IngestService, config: dict[str, Any]
) -> None:
    """Should a broker deliver one anyway (a filter left in a session): refused, said why."""
    now = int(time.time() * 1000)
    batch = envelope("gw-gate", 1, [reading("door-1", "door", now, open=True)])
    outcome = service.handler.handle(_topic(config, "campus-x", "readings"), batch)
    assert outcome.record is None
    [letter] = outcome.dead_letters
    assert letter.reason == "site_not_served"
    assert "site 'campus-x' is not served here" in letter.detail
    assert _refused(service) == 1


def test_only_the_served_sites_are_subscribed_also_after_an_older_session(
    config: dict[str, Any], publisher: Publisher, broker: MosquittoServer
) -> None:
    """SPEC §13: another site's messages never reach this service, not even through the
    all-sites subscription an older version left in its persistent session, nor through a
    site this service no longer serves."""
    root = config["mqtt"]["topic_root"]
    _old_session(broker.port, config["mqtt"]["client_id"], f"{root}/+/+/readings")
    for run, served in enumerate((["campus-a"], [])):  # campus-a then moves elsewhere
        config["site"]["also_serves"] = served
        door = f"door-{run}"
        batch = envelope(
            "gw-gate", run + 1, [reading(door, "door", int(time.time() * 1000), open=True)]
        )
        service = IngestService(IngestConfig.model_validate(config))
        service.start()
        try:
            assert service.wait_ready()
            for site in ("campus-x", "campus-a", "sunshine-kg"):  # the last one: in order
                publisher.publish(_topic(config, site, "readings"), batch)
            wait_for(lambda s=service, d=door: s.registry.device("sunshine-kg", "gw-gate", d), 10)
            taken = service.registry.device("campus-a", "gw-gate", door) is not None
            assert taken == bool(served)
            assert service.registry.device("campus-x", "gw-gate", door) is None
            assert _refused(service) is None  # not received at all, so not refused either
        finally:
            service.stop()


def test_a_camera_alert_of_the_previous_version_keeps_the_snapshot_it_named(
    tmp_path: Path,
) -> None:
    path = tmp_path / "alerts.db"
    with sqlite3.connect(path) as old:
        old.executescript(
            """
            CREATE TABLE alerts (id INTEGER PRIMARY KEY AUTOINCREMENT, rule TEXT NOT NULL,
                site TEXT NOT NULL, gateway TEXT NOT NULL, device TEXT NOT NULL,
                kind TEXT NOT NULL, severity TEXT NOT NULL, state TEXT NOT NULL,
                since_ms INTEGER NOT NULL, title TEXT NOT NULL, field TEXT, value REAL,
                tags TEXT NOT NULL, name TEXT, started_ms INTEGER, acknowledged_by TEXT,
                ack_note TEXT, acknowledged_ms INTEGER, resolved_ms INTEGER,
                last_notified_ms INTEGER, escalated INTEGER NOT NULL DEFAULT 0);
            CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT,
                alert_id INTEGER NOT NULL, channel TEXT NOT NULL, body TEXT NOT NULL,
                created_ms INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
                next_attempt_ms INTEGER NOT NULL, sent_ms INTEGER, failed_ms INTEGER,
                last_error TEXT, priority INTEGER NOT NULL DEFAULT 1,
                subject TEXT NOT NULL DEFAULT '');
            INSERT INTO alerts (rule, site, gateway, device, kind, severity, state, since_ms,
                title, tags) VALUES ('person', 's', 'gw-gate', 'cam-1', 'camera', 'warning',
                'resolved', 1, 'x', '{}');
            INSERT INTO alerts (rule, site, gateway, device, kind, severity, state, since_ms,
                title, tags) VALUES ('door', 's', 'gw-gate', 'door-1', 'door', 'warning',
                'resolved', 1, 'x', '{}');
            INSERT INTO outbox (alert_id, channel, body, created_ms, next_attempt_ms)
                VALUES (1, 'patrol', '{"state": "firing", "snapshot": "snap-a"}', 1, 1),
                       (1, 'patrol', '{"state": "resolved", "snapshot": "snap-b"}', 2, 2),
                       (1, 'patrol', '{"state": "acknowledged"}', 3, 3),
                       (2, 'patrol', '{"state": "firing"}', 1, 1);
            """
        )
    store = AlertStore(path, "s")
    store.open()
    try:
        camera, door = store.alert(1), store.alert(2)
        assert camera is not None
        assert door is not None
        assert (camera.snapshot, door.snapshot) == ("snap-b", None)  # the newest it named
    finally:
        store.close()
