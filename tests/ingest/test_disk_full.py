"""A full state volume (a real tmpfs of 24 MB under a running service): readings are held
in memory (acknowledged, so the broker keeps sending) and stored when space returns;
smoke alarms are still notified, from the alert database while the reserve lasts and
from memory at 100 %; beyond spool.memory_mb readings are lost, counted, and alarms
still arrive (issue 20, item 12); health says why."""

from __future__ import annotations

import errno
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ingest.app import IngestService
from ingest.config import IngestConfig
from ingest.storage.influx import InfluxClient
from tests.harness import SMOKE_RULE, Publisher, count_points, envelope, reading, wait_for
from tests.receivers import HttpReceiver, http_receiver


@pytest.fixture
def volume(tmp_path: Path) -> Iterator[Path]:
    """A 24 MB tmpfs mounted for the test (the machine's tests run as root)."""
    mount = tmp_path / "volume"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with http_receiver() as r:
        yield r


def _fill(path: Path, leave_bytes: int) -> None:
    """Write ``path`` until the volume has at most ``leave_bytes`` free (0: full)."""
    with path.open("ab") as filler:
        block = b"\0" * 65536
        try:
            while _free(path.parent) > leave_bytes:
                filler.write(block[: max(1, min(len(block), _free(path.parent) - leave_bytes))])
                filler.flush()
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise


def _free(path: Path) -> int:
    info = os.statvfs(path)
    return info.f_bavail * info.f_frsize


def test_alarms_are_told_and_readings_kept_on_a_full_disk(
    volume: Path,
    config: dict[str, Any],
    publisher: Publisher,
    receiver: HttpReceiver,
    db: InfluxClient,
) -> None:
    config["state_dir"] = str(volume / "state")
    config["spool"] = {"reserve_mb": 4, "segment_mb": 1}
    config["channels"] = {"patrol": {"type": "webhook", "url": receiver.url()}}
    config["rules"] = [SMOKE_RULE]
    topic = f"{config['mqtt']['topic_root']}/sunshine-kg/gw-main/readings"
    seq = iter(range(1, 1000))
    started_ms = int(time.time() * 1000)

    def send(device: str, kind: str, **values: Any) -> None:
        number = next(seq)  # also the reading's ms: no two readings share a point
        one = [reading(device, kind, started_ms + number, **values)]
        publisher.publish(topic, envelope("gw-main", number, one))

    service = IngestService(IngestConfig.model_validate(config))
    service.start()
    try:
        assert service.wait_ready()
        send("fridge-1", "temperature", celsius=4.0)
        wait_for(lambda: count_points(db, "temperature", "celsius") == 1, 20)
        # Under the reserve: readings wait at the broker, alarms are recorded and told.
        _fill(volume / "filler-1", leave_bytes=2 << 20)
        for i in range(5):
            send("fridge-1", "temperature", celsius=4.0 + i)
        wait_for(lambda: service.health()["status"] == "degraded", 15)
        [problem] = service.health()["problems"]
        assert problem.startswith("readings: not stored: ")
        assert "under the reserve of 4 MB" in problem
        assert "held in memory" in problem
        send("smoke-1", "smoke", smoke=True)
        first = wait_for(receiver.bodies, 10)[0]
        assert first["device"] == "smoke-1"
        assert first["ack_url"]  # recorded: it can be acknowledged from the message
        # 100 %: the alert database cannot be written either; the alarm comes from memory.
        with service.alert_store.lock:
            service.alert_store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        _fill(volume / "filler-2", leave_bytes=0)
        send("smoke-2", "smoke", smoke=True)
        second = wait_for(lambda: receiver.bodies()[1:], 10)[0]
        assert second["device"] == "smoke-2"
        assert "磁盘已满" in second["message"]
        assert second["ack_url"] is None
        problems = service.health()["problems"]
        assert any(p.startswith("alerts: the alert database cannot be written") for p in problems)
        assert count_points(db, "temperature", "celsius") == 1  # nothing stored yet
        # Space again: everything held is stored, the alarm kept in memory is recorded.
        (volume / "filler-1").unlink()
        (volume / "filler-2").unlink()
        wait_for(lambda: count_points(db, "temperature", "celsius") == 6, 30)
        send("smoke-2", "smoke", smoke=False)
        wait_for(lambda: service.health()["status"] == "ok", 15)
        recorded = {
            a.device: a.state for a in service.alert_store.alerts(active_only=False, limit=10)
        }
        assert recorded == {"smoke-1": "firing", "smoke-2": "resolved"}
        wait_for(lambda: count_points(db, "smoke", "smoke") == 3, 20)
    finally:
        service.stop()


def test_a_smoke_alarm_arrives_after_thousands_of_messages_on_a_full_disk(
    volume: Path,
    config: dict[str, Any],
    publisher: Publisher,
    receiver: HttpReceiver,
    db: InfluxClient,
) -> None:
    """Item 12: with the spool refusing, the ingest once stopped acknowledging; after the
    broker's max_inflight_messages (1,000) it sent nothing more, alarms included."""
    config["state_dir"] = str(volume / "state")
    config["spool"] = {"reserve_mb": 4, "segment_mb": 1, "memory_mb": 1}
    config["channels"] = {"patrol": {"type": "webhook", "url": receiver.url()}}
    config["rules"] = [SMOKE_RULE]
    topic = f"{config['mqtt']['topic_root']}/sunshine-kg/gw-main/readings"
    start_ms = int(time.time() * 1000) - 600_000
    service = IngestService(IngestConfig.model_validate(config))
    service.start()
    try:
        assert service.wait_ready()
        _fill(volume / "filler", leave_bytes=2 << 20)
        load = [
            (
                topic,
                envelope(
                    "gw-main",
                    seq,
                    [
                        reading(f"fridge-{i}", "temperature", start_ms + seq * 20 + i, celsius=4.0)
                        for i in range(20)
                    ],
                ),
            )
            for seq in range(1, 3001)
        ]
        publisher.publish_many(load)  # 3,000 messages, 60,000 readings: 5 MB > 1 MB
        smoke = [reading("smoke-1", "smoke", int(time.time() * 1000), smoke=True)]
        publisher.publish(topic, envelope("gw-main", 3001, smoke))
        told = wait_for(receiver.bodies, 60)
        assert [b["device"] for b in told] == ["smoke-1"]
        lost = service.metrics.readings_lost
        wait_for(lambda: lost._value.get() > 0, 30)
        assert any("LOST" in p for p in service.health()["problems"])
        wait_for(lambda: service.consumer.pending_age_s() == 0, 30)  # all handed over
        (volume / "filler").unlink()
        # Two minutes: one CI run (2026-12-06) missed one minute here, cause not found (in
        # 3.5 s when run alone); the equality itself is what is checked.
        wait_for(
            lambda: count_points(db, "temperature", "celsius") == 60_000 - lost._value.get(), 120
        )
        wait_for(lambda: service.health()["status"] == "ok", 15)
    finally:
        service.stop()
