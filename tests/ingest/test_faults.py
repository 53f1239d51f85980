"""Fault injection with real processes: database outages, SIGKILLed ingest, redelivery.

Each test runs its own influxd (it is stopped mid-test) and the ingest as a child
process where it is killed. Nothing may be lost and nothing duplicated.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from demo.services import InfluxServer, MosquittoServer
from ingest.storage.influx import InfluxClient
from tests.harness import (
    SMOKE_RULE,
    IngestProcess,
    Publisher,
    SteadyPublisher,
    config_dict,
    count_points,
    envelope,
    reading,
    wait_for,
)
from tests.receivers import http_receiver

GUARD = {"Authorization": "Bearer guard-token-1"}


@pytest.fixture
def own_influxd(tmp_path: Path) -> Iterator[InfluxServer]:
    """An influxd this test may stop and restart."""
    server = InfluxServer(tmp_path / "influxd")
    server.start()
    yield server
    server.stop()


def _all_stored(db: InfluxClient, expected: int) -> bool:
    return count_points(db, "temperature", "celsius") == expected


@contextmanager
def running_ingest(
    tmp_path: Path, broker: MosquittoServer, influx: InfluxServer, **sections: Any
) -> Iterator[tuple[IngestProcess, str, InfluxClient]]:
    """An ingest child process, its readings topic and a client of its database."""
    config = config_dict(tmp_path / "state", broker, influx, **sections)
    ingest = IngestProcess(config, tmp_path)
    ingest.start()
    topic = f"{config['mqtt']['topic_root']}/sunshine-kg/gw-canteen/readings"
    db = InfluxClient(influx.url, config["influx"]["database"])
    try:
        yield ingest, topic, db
    finally:
        db.close()
        if ingest.proc:
            ingest.kill()


def _smoke_alarms(broker: MosquittoServer, topic: str, count: int) -> None:
    """Raise and clear ``count`` smoke alarms on distinct detectors."""
    pub = Publisher(broker.port)
    for i in range(count):
        now = int(time.time() * 1000)
        for seq, on in ((2 * i + 1, True), (2 * i + 2, False)):
            alarm = reading(f"smoke-{i}", "smoke", now + seq, smoke=on)
            pub.publish(topic, envelope("gw-main", seq, [alarm]))
    pub.close()


def test_influx_down_30s_while_publishing_loses_nothing_and_live_path_continues(
    tmp_path: Path, broker: MosquittoServer, own_influxd: InfluxServer
) -> None:
    with (
        http_receiver() as hook,
        running_ingest(
            tmp_path,
            broker,
            own_influxd,
            channels={"patrol": {"type": "webhook", "url": hook.url()}},
            rules=[SMOKE_RULE],
        ) as (ingest, topic, db),
    ):
        smoke_topic = topic.replace("gw-canteen", "gw-main")
        with SteadyPublisher(broker.port, topic, size=20, period=0.02) as steady:
            time.sleep(2)
            own_influxd.stop()
            wait_for(lambda: not httpx.get(ingest.api + "/api/health").json()["influx"], 15)
            assert httpx.get(ingest.api + "/api/health").json()["status"] == "degraded"
            during = steady.sent
            rss_before = ingest.rss_mb()
            time.sleep(30)
            # Readings wait on disk, not in memory: the process does not grow with the outage.
            assert ingest.rss_mb() - rss_before < 20
            # The live path kept seeing readings the whole time.
            devices = httpx.get(ingest.api + "/api/devices", headers=GUARD).json()
            newest = max(d["last_seen"] for d in devices)
            assert steady.sent > during + 10_000
            assert ingest.metric("campus_spool_bytes") > 0
            assert newest is not None
            # Alerts fire and are delivered while the database is down.
            _smoke_alarms(broker, smoke_topic, 5)
            wait_for(lambda: len(hook.bodies()) == 10, 10)
            told: dict[str, list[str]] = {}  # each detector's messages, in order
            for body in hook.bodies():
                told.setdefault(body["device"], []).append(body["state"])
            assert told == {f"smoke-{i}": ["firing", "resolved"] for i in range(5)}
            own_influxd.start()
            time.sleep(2)
        total = steady.sent
        wait_for(lambda: _all_stored(db, total), 60)
        # ... and their lifecycle events reach InfluxDB once it is back.
        wait_for(lambda: count_points(db, "alert_event", "alert_id") == 15, 30)
        wait_for(lambda: httpx.get(ingest.api + "/api/health").json()["status"] == "ok", 15)
        assert ingest.metric("campus_rejected_total") == 0
        assert ingest.stop() == 0


def test_influx_outage_with_ingest_sigkilled_during_it_loses_nothing(
    tmp_path: Path, broker: MosquittoServer, own_influxd: InfluxServer
) -> None:
    with running_ingest(tmp_path, broker, own_influxd) as (ingest, topic, db):
        with SteadyPublisher(broker.port, topic, size=20, period=0.02) as steady:
            time.sleep(1)
            own_influxd.stop()
            time.sleep(10)
            ingest.kill()  # spooled readings are on disk; unacknowledged ones stay at the broker
            time.sleep(5)
            ingest.start()
            time.sleep(10)
            own_influxd.start()
            time.sleep(1)
        total = steady.sent
        wait_for(lambda: _all_stored(db, total), 60)
        assert ingest.stop() == 0


def test_ingest_sigkilled_mid_stream_and_restarted_loses_nothing(
    tmp_path: Path, broker: MosquittoServer, influxd: InfluxServer
) -> None:
    with running_ingest(tmp_path, broker, influxd) as (ingest, topic, db):
        with SteadyPublisher(broker.port, topic, size=50, period=0.005) as steady:
            time.sleep(2)
            ingest.kill()
            time.sleep(2)  # the broker queues for the persistent session meanwhile
            ingest.start()
            time.sleep(2)
            ingest.kill()
            ingest.start()
            time.sleep(1)
        total = steady.sent
        assert total > 10_000
        wait_for(lambda: _all_stored(db, total), 60)
        assert ingest.stop() == 0
    # The envelopes acknowledged since the registry's last full save are no gap either.
    assert "missing before seq" not in ingest.log_text()
