"""The nightly lock check (落锁检查) through the real broker and service, on a manual
clock: the message building by building, its days after the official calendar, the
catch-up after downtime (once), the console's page, and bad lock-check times."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from fastapi.testclient import TestClient

from campuswatch.errors import ConfigError
from ingest.app import IngestService
from ingest.config import IngestConfig, load_config
from ingest.web.app import create_api
from tests.clock import ManualClock
from tests.harness import Publisher, envelope, reading, wait_for
from tests.ingest.web.console.web import log_in
from tests.receivers import HttpReceiver, http_receiver

TZ = ZoneInfo("Asia/Shanghai")
PLACES = [
    ("door-101", "后门", "教学楼", "101"),
    ("door-102", "侧门", "教学楼", "102"),
    ("lock-103", "储藏室", "教学楼", "103"),
    ("door-gate", "大门", "门卫室", ""),
    ("door-kitchen", "后厨门", "食堂", ""),
]
# Doors that report hourly (Zigbee contacts): silent after three hours without a word.
DOORS = [
    {
        "device": d,
        "kind": "door",
        "name": n,
        "interval_s": 3600,
        "tags": {"building": b, **({"room": r} if r else {})},
    }
    for d, n, b, r in PLACES
]
LOCK_CHECK = {
    "notify": ["patrol"],
    "at": [
        {"days": ["mon", "tue", "wed", "thu", "fri"], "time": "21:30"},
        {"days": ["sat", "sun"], "time": "18:00"},
    ],
}


def local_ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=TZ).timestamp() * 1000)


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with http_receiver() as r:
        yield r


def _service(config: dict[str, Any], clock: ManualClock) -> IngestService:
    service = IngestService(IngestConfig.model_validate(config), clock)
    service.start()
    assert service.wait_ready()
    return service


def test_the_lock_check_lists_what_needs_a_look_and_catches_up_once(
    config: dict[str, Any], publisher: Publisher, receiver: HttpReceiver
) -> None:
    config["channels"] = {"patrol": {"type": "webhook", "url": receiver.url()}}
    config["lock_check"] = LOCK_CHECK
    config["calendar"] = {"official": "cn"}
    config["places"] = {"教学楼/101": "小一班教室"}  # room 101's name; 102 has none
    # Saturday 10 October 2026 is a make-up working day: the 21:30 check of weekdays.
    clock = ManualClock(local_ms("2026-10-10 21:00") / 1000)
    service = _service(config, clock)
    root = f"{config['mqtt']['topic_root']}/sunshine-kg/gw-main"
    try:
        meta = {"v": 1, "gateway": "gw-main", "devices": DOORS}
        publisher.publish(f"{root}/meta", orjson.dumps(meta))
        now = local_ms("2026-10-10 21:00")
        readings = [
            reading("door-101", "door", now, open=False, locked=False),
            reading("door-102", "door", now, open=True, locked=False),
            reading("lock-103", "door", now, locked=True),  # a lock without a contact
            reading("door-gate", "door", now, open=False, locked=True),
            reading("door-kitchen", "door", now - 4 * 3_600_000, open=False, locked=True),
        ]
        publisher.publish(f"{root}/readings", envelope("gw-main", 1, readings))
        wait_for(
            lambda: sum(d.last_seen_ms is not None for d in service.registry.devices()) == 5, 10
        )
    finally:
        service.stop()
    assert receiver.bodies() == []  # 21:30 has not come yet
    # The service is down at 21:30 and back at 21:40: the check runs once, late.
    clock.advance(40 * 60)
    service = _service(config, clock)
    try:
        [body] = wait_for(receiver.bodies, 10)
        assert body["title"] == "【落锁检查 21:30】3 处未关好："
        assert body["message"].splitlines() == [
            "教学楼：小一班教室 后门 未锁；102 侧门 开着、未锁",
            "食堂：后厨门 无数据",
        ]
        assert body["state"] == "report"
        with TestClient(create_api(service)) as console:
            service.people.add("zhang", "张师傅", "guard", "guard password 1")
            assert log_in(console, "zhang", "guard password 1").status_code == 303
            page = console.get("/tonight")
        assert "【落锁检查 21:30】3 处未关好：" in page.text
        assert "食堂：后厨门 无数据" in page.text
    finally:
        service.stop()
    service = _service(config, clock)  # a second restart sends nothing again
    service.stop()
    assert len(receiver.bodies()) == 1


def test_an_all_clear_and_the_days_it_skips(
    config: dict[str, Any], publisher: Publisher, receiver: HttpReceiver
) -> None:
    config["channels"] = {"patrol": {"type": "webhook", "url": receiver.url()}}
    config["lock_check"] = LOCK_CHECK
    config["calendar"] = {"official": "cn"}
    clock = ManualClock(local_ms("2026-10-01 17:00") / 1000)  # National Day, a Thursday
    service = _service(config, clock)
    root = f"{config['mqtt']['topic_root']}/sunshine-kg/gw-main"
    try:
        meta = {"v": 1, "gateway": "gw-main", "devices": DOORS[3:4]}
        publisher.publish(f"{root}/meta", orjson.dumps(meta))
        closed = [
            reading("door-gate", "door", local_ms("2026-10-01 17:00"), open=False, locked=True)
        ]
        publisher.publish(f"{root}/readings", envelope("gw-main", 1, closed))
        # The meta and the reading may arrive in either order: wait for both.
        wait_for(
            lambda: (
                [d.last_seen_ms for d in service.registry.devices()]
                == [local_ms("2026-10-01 17:00")]
            ),
            10,
        )
        jobs = {job.id: job for job in service.report_jobs.jobs}
        # A holiday counts as a Sunday: the 18:00 check runs, the weekday one does not.
        holiday = datetime.fromisoformat("2026-10-01 18:00").replace(tzinfo=TZ)
        assert jobs["lock-check-0"].make(holiday.replace(hour=21, minute=30)) is None
        clock.advance(3600)
        body = jobs["lock-check-1"].make(holiday)
        assert body is not None
        assert body["title"] == "【落锁检查 18:00】全部已关闭上锁（1 扇门）"
    finally:
        service.stop()


@pytest.mark.parametrize(
    ("lock_check", "problem"),
    [
        (
            {
                "notify": ["patrol"],
                "at": [
                    {"days": ["mon"], "time": "21:30"},
                    {"days": ["fri", "mon"], "time": "21:30"},
                ],
            },
            "lock_check: at[1]: 21:30 on mon is already at[0]",
        ),
        (
            {"notify": ["nobody"], "at": [{"days": ["mon"], "time": "21:30"}]},
            "lock_check.notify[0]: no channel named 'nobody'",
        ),
        (
            {"notify": ["patrol"], "at": [{"days": ["mon"], "time": "25:00"}]},
            "lock_check.at[0].time: '25:00' is not a valid time of day",
        ),
    ],
)
def test_bad_lock_check_times_are_config_errors(
    tmp_path: Path, lock_check: dict[str, Any], problem: str
) -> None:
    path = tmp_path / "ingest.yaml"
    doc = {"site": {"id": "x"}, "channels": {"patrol": {"type": "log"}}, "lock_check": lock_check}
    path.write_text(orjson.dumps(doc).decode())
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert any(problem in p for p in error.value.problems), error.value.problems
