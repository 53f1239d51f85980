"""A storm of alarms cannot hold up the next real one: a gateway sends 1,000 fake smoke
alarms in one envelope, then a real smoke alarm comes from another gateway. Through the
real broker and service, to a webhook (every notification, the real one next) and to a
WeCom-style robot (the burst as one digest, within the robot's rate limit)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from ingest.app import IngestService
from ingest.config import IngestConfig
from tests.harness import SMOKE_RULE, Publisher, envelope, reading, wait_for
from tests.receivers import HttpReceiver, Request, http_receiver

SMOKE = {**SMOKE_RULE, "notify": ["siren", "patrol"]}


@pytest.fixture
def webhook() -> Iterator[HttpReceiver]:
    with http_receiver() as receiver:
        yield receiver


@pytest.fixture
def robot() -> Iterator[HttpReceiver]:
    with http_receiver() as receiver:
        yield receiver


def _first(requests: list[Request], text: str) -> Request | None:
    return next((r for r in requests if text in str(r.body)), None)


def test_a_real_alarm_overtakes_a_burst_of_a_thousand(
    config: dict[str, Any], publisher: Publisher, webhook: HttpReceiver, robot: HttpReceiver
) -> None:
    config["channels"] = {
        "siren": {"type": "webhook", "url": webhook.url()},
        "patrol": {"type": "wecom", "url": robot.url()},
    }
    config["rules"] = [SMOKE]
    root = config["mqtt"]["topic_root"]
    service = IngestService(IngestConfig.model_validate(config))
    service.start()
    try:
        assert service.wait_ready()
        now = int(time.time() * 1000)
        burst = [reading(f"fake-{i:04d}", "smoke", now, smoke=True) for i in range(1000)]
        publisher.publish(f"{root}/sunshine-kg/gw-attic/readings", envelope("gw-attic", 1, burst))
        wait_for(lambda: len(webhook.requests) >= 20, 20)  # the storm is being delivered
        sent_at = time.perf_counter()
        real = [reading("smoke-hall", "smoke", int(time.time() * 1000), smoke=True)]
        publisher.publish(f"{root}/sunshine-kg/gw-hall/readings", envelope("gw-hall", 1, real))
        at_siren = wait_for(lambda: _first(webhook.requests, "smoke-hall"), 30)
        at_robot = wait_for(lambda: _first(robot.requests, "smoke-hall"), 30)
        # Nothing is lost: every alarm reaches the webhook, once.
        wait_for(lambda: len(webhook.bodies()) == 1001, 60)
    finally:
        service.stop()
    siren_delay, robot_delay = at_siren.at - sent_at, at_robot.at - sent_at
    print(
        f"real alarm after a burst of 1000: webhook {siren_delay:.2f} s, robot "
        f"{robot_delay:.2f} s; robot messages {len(robot.requests)}"
    )
    overtaken = [r for r in webhook.requests if sent_at < r.at < at_siren.at]
    assert len(overtaken) <= 3, "the real alarm waited behind the burst"
    assert siren_delay < 5
    assert robot_delay < 5
    assert len({r.body["alert_id"] for r in webhook.requests}) == 1001
    # The robot got the burst as a digest or a few, never a thousand messages.
    assert len(robot.requests) <= 4
    digest = robot.requests[0].body["markdown"]["content"]
    assert "烟雾报警 ×" in digest
    assert "网关 gw-attic" in digest
    hall = at_robot.body["markdown"]["content"]
    if "gw-attic" in hall:  # it came in a digest: listed first, above the burst
        assert hall.index("smoke-hall") < hall.index("gw-attic")
