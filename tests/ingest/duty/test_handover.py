"""Shift handover (SPEC §11) on the real broker and database: the draft is filled from the
shift's alerts (open ones carried over), visitors still in and work orders not done; the
saved handover keeps the draft as it was; another person confirms it, once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ingest.app import IngestService
from ingest.config import IngestConfig
from ingest.web.app import create_api
from tests.harness import SMOKE_RULE, Publisher, envelope, reading, wait_for
from tests.ingest.reports.data import TZ
from tests.receivers import http_receiver

ADMIN = {"Authorization": "Bearer admin-token-1"}
GUARD = {"Authorization": "Bearer guard-token-1"}
VIEWER = {"Authorization": "Bearer viewer-token-1"}
SHIFTS = {"day": {"from": "07:00", "to": "19:00"}, "night": {"from": "19:00", "to": "07:00"}}


@pytest.fixture
def shift(config: dict[str, Any]) -> Iterator[tuple[IngestService, TestClient]]:
    with http_receiver() as receiver:
        config["channels"] = {"patrol": {"type": "webhook", "url": receiver.url()}}
        config["rules"] = [SMOKE_RULE]
        config["duty"] = {"shifts": SHIFTS}
        service = IngestService(IngestConfig.model_validate(config))
        service.start()
        assert service.wait_ready()
        service.people.add("zhang", "张师傅", "guard", "guard password 1")
        with TestClient(create_api(service)) as api:
            yield service, api
        service.stop()


def _smoke(publisher: Publisher, config: dict[str, Any], seq: int, device: str) -> None:
    root = f"{config['mqtt']['topic_root']}/sunshine-kg/gw-main/readings"
    now = int(time.time() * 1000)
    publisher.publish(root, envelope("gw-main", seq, [reading(device, "smoke", now, smoke=True)]))


def test_a_handover_carries_what_the_shift_saw(
    shift: tuple[IngestService, TestClient], publisher: Publisher, config: dict[str, Any]
) -> None:
    service, api = shift
    now = api.get("/api/duty/now", headers=VIEWER).json()
    day = datetime.fromtimestamp(now["since"] / 1000, TZ).date().isoformat()
    roster = [{"date": day, "shift": now["shift"], "people": ["zhang"]}]
    assert api.put("/api/duty/roster", json=roster, headers=ADMIN).status_code == 200
    _smoke(publisher, config, 1, "smoke-1")
    _smoke(publisher, config, 2, "smoke-2")
    alerts = wait_for(lambda: len(service.alerts.active()) == 2 and service.alerts.active(), 10)
    second = next(a for a in alerts if a.device == "smoke-2")
    acked = api.post(f"/api/alerts/{second.id}/ack", json={"note": "油烟"}, headers=GUARD)
    assert acked.status_code == 200
    visitor = {"name": "李四", "phone": "13812345678", "visiting": "食堂", "approved_by": "王园长"}
    assert api.post("/api/duty/visitors", json=visitor, headers=GUARD).status_code == 201
    order = {"title": "厨房灯不亮"}
    assert api.post("/api/duty/workorders", json=order, headers=GUARD).status_code == 201

    draft = api.get("/api/duty/handover/draft", headers=VIEWER).json()
    assert (draft["shift"], draft["people"]) == (
        now["shift"],
        [{"login": "zhang", "name": "张师傅"}],
    )
    assert sorted(a["device"] for a in draft["alerts"]["fired"]) == ["smoke-1", "smoke-2"]
    assert [a["device"] for a in draft["alerts"]["open"]] == ["smoke-1"]  # carried over
    assert [(a["device"], a["acknowledged_by"]) for a in draft["alerts"]["acknowledged"]] == [
        ("smoke-2", "值班室")
    ]
    assert [(v["name"], v["phone"]) for v in draft["visitors_in"]] == [("李四", "138****5678")]
    assert [o["title"] for o in draft["workorders_open"]] == ["厨房灯不亮"]
    assert set(draft) >= {"since", "until", "lock_check", "rounds", "devices_offline"}

    saved = api.post("/api/duty/handovers", json={"note": "烟感 1 待厂家"}, headers=GUARD)
    assert saved.status_code == 201
    record = saved.json()
    assert (record["by"], record["note"], record["confirmed_by"]) == (
        "值班室",
        "烟感 1 待厂家",
        None,
    )
    first = next(a for a in alerts if a.device == "smoke-1")
    api.post(f"/api/alerts/{first.id}/ack", json={"note": ""}, headers=ADMIN)
    kept = api.get(f"/api/duty/handovers/{record['id']}", headers=VIEWER).json()
    assert [a["device"] for a in kept["draft"]["alerts"]["open"]] == ["smoke-1"]  # as handed over
    # The visitor is kept without name or phone: those go with the visitor book's retention.
    assert [set(v) for v in kept["draft"]["visitors_in"]] == [{"id", "visiting", "in_at"}]

    confirm = f"/api/duty/handovers/{record['id']}/confirm"
    own = api.post(confirm, json={}, headers=GUARD)
    assert own.status_code == 409
    assert "another person confirms it" in own.text
    taken = api.post(confirm, json={"note": "已接班"}, headers=ADMIN)
    assert taken.status_code == 201
    assert (taken.json()["confirmed_by"], taken.json()["confirm_note"]) == ("admin", "已接班")
    assert api.post(confirm, json={}, headers=ADMIN).status_code == 409
    assert (
        api.request(
            "PATCH", f"/api/duty/handovers/{record['id']}", json={}, headers=ADMIN
        ).status_code
        == 405
    )
    assert service.duty.books.verify() == []


def test_a_month_of_handovers_and_repairs_as_csv(shift: tuple[IngestService, TestClient]) -> None:
    service, api = shift
    books = service.duty.books
    december = int(datetime(2026, 12, 3, 8, tzinfo=TZ).timestamp() * 1000)
    november = int(datetime(2026, 11, 30, 8, tzinfo=TZ).timestamp() * 1000)
    for at in (november, december):
        books.append(
            "handovers", at, "张师傅", {"note": '=HYPERLINK("x")', "draft": {"shift": "night"}}
        )
    order = {
        "title": "修灯",
        "device": None,
        "note": "",
        "mute_until": None,
        "key": None,
        "problem": None,
    }
    books.append("workorders", december, "张师傅", order)
    month = {"month": "2026-12", "format": "csv"}
    ledger = api.get("/api/duty/handovers", params=month, headers=VIEWER)
    assert ledger.headers["content-type"].startswith("text/csv")
    assert 'filename="handovers-2026-12.csv"' in ledger.headers["content-disposition"]
    lines = ledger.text.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("编号,交班时间,交班人,班次")
    assert len(lines) == 2  # November's is not in December
    assert "2026-12-03 08:00,张师傅,night,\"'=HYPERLINK" in lines[1]  # a formula shown as text
    repairs = api.get("/api/duty/workorders", params=month, headers=VIEWER).text
    assert "修灯" in repairs
    assert (
        api.get("/api/duty/workorders", params={"month": "2026-13"}, headers=VIEWER).status_code
        == 422
    )
