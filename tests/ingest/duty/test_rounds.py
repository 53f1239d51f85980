"""Night rounds on a manual clock (SPEC §11): checkpoint links signed for good and refused
when forged, visits recorded by a logged-in scan, windows done or missed, the
``round_missed`` rule fired when a window closes with a checkpoint missed (and ended by
the next round walked in full), scans seconds apart flagged. Real broker and database."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from ingest.app import IngestService
from ingest.config import IngestConfig
from ingest.links import rotate_key
from ingest.web.app import create_api
from tests.clock import ManualClock
from tests.harness import Publisher, count_points, envelope, reading, wait_for
from tests.ingest.reports.data import local
from tests.ingest.web.console.web import PEOPLE, csrf_of, log_in, meta
from tests.receivers import HttpReceiver, http_receiver

ADMIN = {"Authorization": "Bearer admin-token-1"}
VIEWER = {"Authorization": "Bearer viewer-token-1"}
DUTY = {
    "checkpoints": [
        {"id": "gate", "name": "大门", "place": "gate"},
        {"id": "kitchen", "name": "厨房", "place": "canteen/kitchen"},
    ],
    "rounds": [
        {
            "id": "night-round",
            "at": ["21:00", "23:30"],
            "within": "45m",
            "checkpoints": ["gate", "kitchen"],
        }
    ],
}
RULE = {
    "id": "round-missed",
    "round_missed": "night-round",
    "severity": "warning",
    "notify": ["patrol"],
}


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with http_receiver() as rx:
        yield rx


@pytest.fixture
def night(
    config: dict[str, Any], receiver: HttpReceiver
) -> Iterator[tuple[IngestService, TestClient, ManualClock]]:
    config["channels"] = {"patrol": {"type": "webhook", "url": receiver.url()}}
    config["rules"] = [RULE]
    config["duty"] = DUTY
    config["api"]["public_url"] = "http://campus.example"  # https: Secure cookies
    clock = ManualClock(local("2026-12-07 20:50").timestamp())
    service = IngestService(IngestConfig.model_validate(config), clock)
    service.start()
    assert service.wait_ready()
    for login, (name, role, password) in PEOPLE.items():
        service.people.add(login, name, role, password)
    with TestClient(create_api(service)) as web:
        yield service, web, clock
    service.stop()


def _links(web: TestClient) -> dict[str, str]:
    listed = web.get("/api/duty/checkpoints", headers=ADMIN)
    assert listed.status_code == 200
    return {c["id"]: c["url"] for c in listed.json()}


def _scan(web: TestClient, url: str, note: str = "") -> str:
    path = urlsplit(url)
    page = web.get(f"{path.path}?{path.query}")
    assert page.status_code == 200, page.text
    done = web.post(f"{path.path}?{path.query}", data={"csrf": csrf_of(page.text), "note": note})
    assert done.status_code == 200
    return done.text


def test_a_night_of_rounds(
    night: tuple[IngestService, TestClient, ManualClock],
    receiver: HttpReceiver,
    publisher: Publisher,
    config: dict[str, Any],
) -> None:
    service, web, clock = night
    # The gate's corridor has a motion sensor: it sees the guard at 21:04.
    meta(
        publisher, config, [{"device": "pir-gate", "kind": "motion", "tags": {"building": "gate"}}]
    )
    seen = int(local("2026-12-07 21:04").timestamp() * 1000)
    root = f"{config['mqtt']['topic_root']}/sunshine-kg/gw-main/readings"
    publisher.publish(
        root, envelope("gw-main", 1, [reading("pir-gate", "motion", seen, motion=True)])
    )
    wait_for(lambda: count_points(service.influx, "motion", "motion") == 1, 10)
    links = _links(web)
    assert links["gate"].startswith("http://campus.example/duty/checkpoints/gate?sig=")
    service.duty.rounds.check_closed(service.engine.on_round)  # the first check: from now on
    log_in(web, "zhang")
    _scan(web, links["kitchen"])  # 20:50: outside any round: recorded, counts for none
    clock.advance(15 * 60)  # 21:05: the 21:00 round, only the gate is walked
    assert "已记录本次巡查" in _scan(web, links["gate"], "门已锁好")
    clock.advance(45 * 60)  # 21:50: its window (21:00-21:45) has closed
    service.duty.rounds.check_closed(service.engine.on_round)
    body = wait_for(lambda: next(iter(receiver.bodies()), None), 10)
    assert (body["device"], body["state"], body["title"]) == ("night-round", "firing", "巡逻漏检")
    assert "厨房" in body["message"]
    rounds = web.get("/api/duty/rounds", params={"date": "2026-12-07"}, headers=VIEWER).json()
    first, second = rounds
    assert (first["round"], first["done_at"], first["missed"]) == ("night-round", None, ["kitchen"])
    assert [(v["checkpoint"], v["by"], v["note"]) for v in first["visits"]] == [
        ("gate", "张师傅", "门已锁好")
    ]
    assert second["missed"] == []  # 23:30 is not over yet

    clock.advance(100 * 60)  # 23:30: walked in full, the kitchen seconds after the gate
    _scan(web, links["gate"])
    clock.advance(5)
    _scan(web, links["kitchen"])
    clock.advance(50 * 60)
    service.duty.rounds.check_closed(service.engine.on_round)
    wait_for(lambda: any(b["state"] == "resolved" for b in receiver.bodies()), 10)
    second = web.get("/api/duty/rounds", params={"date": "2026-12-07"}, headers=VIEWER).json()[1]
    assert second["done_at"] == int(local("2026-12-07 23:30:05").timestamp() * 1000)
    assert [v["too_fast"] for v in second["visits"]] == [False, True]  # 5 s apart: flagged
    # At 23:30 the gate's sensor saw nobody; the kitchen has no sensor to ask.
    assert [v["sensed"] for v in second["visits"]] == [False, None]
    assert len([b for b in receiver.bodies() if b["state"] == "firing"]) == 1  # told once


def test_a_forged_or_rotated_link_records_nothing(
    night: tuple[IngestService, TestClient, ManualClock],
) -> None:
    service, web, _clock = night
    log_in(web, "zhang")
    link = urlsplit(_links(web)["kitchen"])
    good = f"{link.path}?{link.query}"
    page = web.get(good)
    csrf = csrf_of(page.text)
    for bad in (
        good.replace("kitchen?", "gate?"),  # another checkpoint's signature
        f"{link.path}?sig=forged",
        link.path,
        "/duty/checkpoints/nowhere?sig=x",
    ):
        assert web.get(bad).status_code == 403, bad
        refused = web.post(bad, data={"csrf": csrf, "note": "x"})
        assert refused.status_code == 403
        assert "未记录任何内容" in refused.text
    assert web.post(good, data={"csrf": "forged", "note": "x"}).status_code == 403
    log_in(web, "li")  # a viewer reads the place, records no visit
    viewer = web.get(good)
    assert viewer.status_code == 200
    assert web.post(good, data={"csrf": csrf_of(viewer.text), "note": "x"}).status_code == 403
    log_in(web, "zhang")
    rotate_key(service.config.state_dir / "links.key")  # campus-ingest links rotate
    assert web.get(good).status_code == 403  # the old prints no longer work
    fresh = urlsplit(_links(web)["kitchen"])
    assert web.get(f"{fresh.path}?{fresh.query}").status_code == 200
    assert service.duty.books.all("visits") == []
    assert web.get("/duty/checkpoints/kitchen/print").status_code == 403  # a guard
    log_in(web, "wang")
    printed = web.get("/duty/checkpoints")
    assert printed.status_code == 200
    assert printed.text.count("<svg") == 2
    assert "厨房" in printed.text
