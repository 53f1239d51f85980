"""Store-and-forward with real processes: broker outages and SIGKILLed gateways.

The gateway runs as ``campus-gateway run`` against its own mosquitto (stopped mid-test);
the central ingest runs in this process on the same broker and stores into influxd.
"""

from __future__ import annotations

import itertools
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from campuswatch.protocol import DeviceRef
from demo.services import InfluxServer, MosquittoServer
from ingest.app import IngestService
from ingest.config import IngestConfig
from ingest.storage.influx import InfluxClient
from tests.gateway.harness import GatewayProcess, gateway_config, simulated
from tests.harness import config_dict, count_points, wait_for


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[MosquittoServer]:
    """A broker this test may stop and restart."""
    broker = MosquittoServer(tmp_path / "mq")
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def central(
    tmp_path: Path, own_broker: MosquittoServer, influxd: InfluxServer
) -> Iterator[tuple[IngestService, InfluxClient, str]]:
    """The ingest on the test's broker, a client of its database, and its topic root."""
    config = config_dict(tmp_path / "ingest", own_broker, influxd)
    service = IngestService(IngestConfig.model_validate(config))
    service.start()
    assert service.wait_ready()
    db = InfluxClient(influxd.url, config["influx"]["database"])
    yield service, db, config["mqtt"]["topic_root"]
    service.stop()
    db.close()


CAMERA = DeviceRef("sunshine-kg", "gw-canteen", "cam-gate")


def _stored(db: InfluxClient) -> int:
    return count_points(db, "temperature", "celsius") + count_points(db, "gateway", "uptime_s")


def test_broker_down_20s_at_500_readings_per_s_every_reading_arrives_once(
    tmp_path: Path,
    own_broker: MosquittoServer,
    central: tuple[IngestService, InfluxClient, str],
) -> None:
    service, db, root = central
    config = gateway_config(tmp_path, own_broker.port, root, [simulated(50, 0.1)])
    gateway = GatewayProcess(config, tmp_path)
    gateway.start()
    time.sleep(3)
    own_broker.stop()
    time.sleep(20)
    own_broker.start()
    wait_for(lambda: "uplink connected" in gateway.log_text().split("reconnecting")[-1], 60)
    time.sleep(2)
    produced = gateway.stop()
    assert produced > 500 * 20
    deadline = time.monotonic() + 90
    while (stored := _stored(db)) != produced and time.monotonic() < deadline:
        time.sleep(1)
    assert stored == produced, gateway.log_text()[-2000:]
    gaps = service.metrics.seq_gaps.labels("gw-canteen")._value.get()
    assert gaps == 0
    assert service.metrics.rejected._metrics == {}  # nothing refused


def _committed(buffer_path: Path) -> set[tuple[str, int]]:
    """(device, ts) of every reading in a (crashed) gateway's buffer."""
    db = sqlite3.connect(buffer_path)
    try:
        found = {
            (r["device"], r["ts"])
            for (body,) in db.execute("SELECT body FROM readings")
            for r in [orjson.loads(body)]
        }
        for (payload,) in db.execute("SELECT payload FROM envelopes"):
            found |= {(r["device"], r["ts"]) for r in orjson.loads(payload)["readings"]}
    finally:
        db.close()
    return found


def _stored_keys(db: InfluxClient) -> set[tuple[str, int]]:
    rows: list[dict[str, Any]] = db.query('SELECT "celsius", "device" FROM "temperature"')
    rows += db.query('SELECT "uptime_s", "device" FROM "gateway"')
    return {(r["device"], r["time"]) for r in rows}


def test_sigkill_ten_times_under_load_loses_no_committed_reading(
    tmp_path: Path,
    own_broker: MosquittoServer,
    central: tuple[IngestService, InfluxClient, str],
) -> None:
    _service, db, root = central
    config = gateway_config(tmp_path, own_broker.port, root, [simulated(50, 0.1)])
    buffer_path = Path(config["buffer"]["path"])
    gateway = GatewayProcess(config, tmp_path)
    gateway.start()
    committed: set[tuple[str, int]] = set()
    for kill in range(10):
        if kill == 5:  # the second half while the broker is away: the buffer fills up
            own_broker.stop()
        time.sleep(1.5)
        gateway.kill()
        committed |= _committed(buffer_path)
        gateway.start()
    own_broker.start()
    assert len(committed) > 5 * 1.5 * 500 * 0.5  # what the buffer held at the crashes
    deadline = time.monotonic() + 90
    while (missing := committed - _stored_keys(db)) and time.monotonic() < deadline:
        time.sleep(1)
    gateway.stop()
    assert not missing, f"{len(missing)} of {len(committed)} lost, e.g. {sorted(missing)[:3]}"


def test_full_buffer_keeps_door_readings_drops_oldest_routine_and_reports_it(
    tmp_path: Path,
    own_broker: MosquittoServer,
    central: tuple[IngestService, InfluxClient, str],
) -> None:
    _service, db, root = central
    doors = {
        "type": "simulated",
        "seed": 1,
        "every_s": 0.1,
        "devices": [{"device": f"door-{i}", "kind": "door"} for i in range(10)],
    }
    fridges = {
        "type": "simulated",
        "seed": 2,
        "every_s": 0.1,
        "devices": [{"device": f"fridge-{i}", "kind": "temperature"} for i in range(40)],
    }
    config = gateway_config(tmp_path, own_broker.port, root, [doors, fridges])
    config["buffer"]["max_mb"] = 0.06  # about 600 readings: full after a second or so
    config["health_interval"] = "1s"
    gateway = GatewayProcess(config, tmp_path)
    own_broker.stop()
    outage_started = int(time.time() * 1000)
    gateway.start()
    time.sleep(5)
    gateway.stop()  # nothing could be published
    outage_ended = int(time.time() * 1000)
    own_broker.start()
    gateway.start()
    wait_for(lambda: count_points(db, "gateway", "buffer_dropped") >= 2, 60)
    time.sleep(2)
    gateway.stop()
    window = f"time >= {outage_started}ms AND time <= {outage_ended}ms"
    door_rows = db.query(f'SELECT "open", "device" FROM "door" WHERE {window}')
    ticks = sorted({r["time"] for r in door_rows})
    assert len(ticks) >= 40
    assert len(door_rows) == 10 * len(ticks)  # every door of every tick survived
    assert max(b - a for a, b in itertools.pairwise(ticks)) < 300  # no tick lost
    fridge_rows = db.query(f'SELECT "celsius", "device" FROM "temperature" WHERE {window}')
    assert len(fridge_rows) < 40 * len(ticks) / 4  # most routine readings had to go ...
    assert min(r["time"] for r in fridge_rows) > ticks[0] + 2000  # ... the oldest first
    dropped = db.query('SELECT max("buffer_dropped") FROM "gateway"')[0]["max"]
    assert dropped >= 40 * len(ticks) - len(fridge_rows)  # and every drop was reported


def _jpeg(seed: int) -> bytes:
    import cv2  # noqa: PLC0415 (only the camera tests need OpenCV)
    import numpy as np  # noqa: PLC0415

    picture = np.random.default_rng(seed).integers(0, 255, (90, 160, 3), dtype=np.uint8)
    return bytes(cv2.imencode(".jpg", picture)[1])


def test_snapshots_wait_through_a_broker_outage_and_a_restart(
    tmp_path: Path,
    own_broker: MosquittoServer,
    central: tuple[IngestService, InfluxClient, str],
) -> None:
    """Snapshots taken while the broker is down reach the server once it is back, also
    those of a gateway that was restarted meanwhile."""
    from gateway.app import GatewayApp  # noqa: PLC0415
    from gateway.config import GatewayConfig  # noqa: PLC0415

    service, _db, root = central
    config = GatewayConfig.model_validate(
        gateway_config(tmp_path, own_broker.port, root, [simulated(1, 1.0)])
    )
    app = GatewayApp(config, {})
    app.start()
    wait_for(lambda: app.uplink.connected, 10)
    app.store_snapshot("cam-gate", "1-live", _jpeg(1))
    wait_for(lambda: service.snapshots.get(CAMERA, "1-live"), 10)
    own_broker.stop()
    wait_for(lambda: not app.uplink.connected, 10)
    pictures = {f"2-down-{i}": _jpeg(10 + i) for i in range(5)}
    for snapshot_id, jpeg in pictures.items():
        app.store_snapshot("cam-gate", snapshot_id, jpeg)
    app.stop()  # restarted while the broker is still down: the queue is on disk
    assert app.snapshots.path.exists()
    own_broker.start()
    again = GatewayApp(config, {})
    again.start()
    try:
        for snapshot_id, jpeg in pictures.items():
            stored = wait_for(lambda s=snapshot_id: service.snapshots.get(CAMERA, s), 20)
            assert stored.path.read_bytes() == jpeg
        wait_for(lambda: again.snapshots.depth() == 0, 10)
    finally:
        again.stop()
