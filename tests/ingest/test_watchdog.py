"""The watchdog (issue 20): each stage that can stall is stalled in turn in a running
service, against the real broker and database, and health names it in words within its
limit (1 s here), then clears it when the stage moves again."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from ingest.app import IngestService
from ingest.config import IngestConfig
from tests.harness import Publisher, envelope, reading, wait_for

STAGES = ("consumer", "writer", "held", "derived", "channels", "rules", "rollups")
LIMITS = dict.fromkeys(STAGES, "1s")
CLOSED_PORT = "http://127.0.0.1:9"  # discard: nothing listens


@contextmanager
def running(config: dict[str, Any], **sections: Any) -> Iterator[IngestService]:
    config.update(watchdog=LIMITS, **sections)
    service = IngestService(IngestConfig.model_validate(config))
    service.start()
    try:
        assert service.wait_ready()
        yield service
    finally:
        service.stop()


def _stalled(service: IngestService, stage: str) -> list[str]:
    return [p for p in service.health()["problems"] if p.startswith(f"stalled {stage}:")]


def _publish(config: dict[str, Any], publisher: Publisher, *readings: dict[str, Any]) -> None:
    topic = f"{config['mqtt']['topic_root']}/sunshine-kg/gw-a/readings"
    publisher.publish(topic, envelope("gw-a", int(time.time() * 1000), list(readings)))


def _now() -> int:
    return int(time.time() * 1000)


def _while_held(lock: Any, work: Callable[[], None]) -> None:
    """Run ``work`` while another thread holds ``lock`` (a stage stuck on it)."""
    taken, release = threading.Event(), threading.Event()

    def hold() -> None:
        with lock:
            taken.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    taken.wait(5)
    try:
        work()
    finally:
        release.set()
        holder.join(10)


def test_a_stuck_rules_engine_is_named(config: dict[str, Any]) -> None:
    with running(config) as service:

        def stuck() -> None:
            [problem] = wait_for(lambda: _stalled(service, "rules"), 10)
            assert "the rules engine" in problem
            assert service.health()["stages"]["rules"] >= 1
            assert service.health()["status"] == "degraded"

        _while_held(service.engine._lock, stuck)
        wait_for(lambda: not _stalled(service, "rules"), 10)


def test_a_stuck_commit_thread_is_named(config: dict[str, Any], publisher: Publisher) -> None:
    with running(config) as service:

        def stuck() -> None:  # the dead-letter file's fsync hangs (a dying disk)
            _publish(config, publisher, {"device": "x", "kind": "nope", "ts": 1, "values": {}})
            [problem] = wait_for(lambda: _stalled(service, "consumer"), 10)
            assert "receiving" in problem

        _while_held(service.dead_letters._lock, stuck)
        wait_for(lambda: not _stalled(service, "consumer"), 10)


def test_an_unreachable_robot_is_named(config: dict[str, Any], publisher: Publisher) -> None:
    channels = {"patrol": {"type": "webhook", "url": CLOSED_PORT}}
    rules = [
        {
            "id": "smoke",
            "kind": "smoke",
            "when": {"field": "smoke", "eq": True},
            "severity": "critical",
            "notify": ["patrol"],
        }
    ]
    with running(config, channels=channels, rules=rules) as service:
        _publish(config, publisher, reading("smoke-1", "smoke", _now(), smoke=True))
        [problem] = wait_for(lambda: _stalled(service, "channel patrol"), 15)
        assert "notifications to patrol" in problem


def test_storage_that_cannot_write_is_named(config: dict[str, Any], publisher: Publisher) -> None:
    config["influx"]["url"] = CLOSED_PORT
    with running(config) as service:
        _publish(config, publisher, reading("door-1", "door", _now(), open=True))
        service.dirty.add({"door": [_now() // 3_600_000]})
        wait_for(lambda: _stalled(service, "writer") and _stalled(service, "derived"), 20)
        assert service.health()["stages"]["writer"] >= 1


def test_readings_held_in_memory_are_named(config: dict[str, Any], publisher: Publisher) -> None:
    with running(config, spool={"reserve_mb": 10**9}) as service:  # no disk is that big
        _publish(config, publisher, reading("fridge-1", "temperature", _now(), celsius=4.0))
        [problem] = wait_for(lambda: _stalled(service, "held"), 10)
        assert "held in memory" in problem
