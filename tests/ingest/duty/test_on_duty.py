"""``notify: [on_duty]`` end to end (SPEC §11): the roster put through the API routes a
smoke alarm to the person on duty through their own contacts (the WeCom robot @-mentions
them, the e-mail goes to their address), and to ``duty.fallback`` when the shift is empty.
Real broker, database, HTTP and SMTP receivers."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ingest.app import IngestService
from ingest.config import IngestConfig
from ingest.duty.roster import RosterEntry
from ingest.people.contacts import Contacts
from ingest.web.app import create_api
from tests.clock import ManualClock
from tests.harness import SMOKE_RULE, Publisher, wait_for
from tests.ingest.reports.data import TZ, local
from tests.ingest.web.console.web import log_in, smoke
from tests.receivers import HttpReceiver, SmtpReceiver, http_receiver, smtp_receiver

ADMIN = {"Authorization": "Bearer admin-token-1"}
GUARD = {"Authorization": "Bearer guard-token-1"}
VIEWER = {"Authorization": "Bearer viewer-token-1"}
SHIFTS = {"day": {"from": "07:00", "to": "19:00"}, "night": {"from": "19:00", "to": "07:00"}}


@pytest.fixture
def receivers() -> Iterator[tuple[HttpReceiver, SmtpReceiver]]:
    with http_receiver() as http, smtp_receiver() as mail:
        yield http, mail


@pytest.fixture
def duty_service(
    config: dict[str, Any], receivers: tuple[HttpReceiver, SmtpReceiver]
) -> Iterator[IngestService]:
    http, mail = receivers
    config["channels"] = {
        "group": {"type": "wecom", "url": http.url("/wecom")},
        "mail": {
            "type": "email",
            "host": "127.0.0.1",
            "port": mail.port,
            "security": "none",
            "sender": "campus@example.cn",
            "to": ["office@example.cn"],
        },
        "guardroom": {"type": "webhook", "url": http.url("/guardroom")},
    }
    config["rules"] = [{**SMOKE_RULE, "notify": ["on_duty"]}]
    config["duty"] = {
        "shifts": SHIFTS,
        "fallback": ["guardroom"],
        "contacts": {"wecom": "group", "email": "mail"},
    }
    service = IngestService(IngestConfig.model_validate(config))
    service.start()
    assert service.wait_ready()
    service.people.add("zhang", "张师傅", "guard", "guard password 1")
    service.people.set_contacts(
        "zhang", Contacts.checked(wecom_userid="zhangsan", email="zhang@example.cn")
    )
    yield service
    service.stop()


def _current(api: TestClient) -> dict[str, Any]:
    """The shift covering now and the day it started, as the roster names it."""
    now = api.get("/api/duty/now", headers=VIEWER).json()
    assert now["shift"] in SHIFTS
    day = datetime.fromtimestamp(now["since"] / 1000, TZ).date().isoformat()
    return {"date": day, "shift": now["shift"]}


def _to(http: HttpReceiver, path: str) -> list[dict[str, Any]]:
    return [r.body for r in http.requests if r.path == path]


def test_the_person_on_duty_is_told_and_the_fallback_when_nobody_is(
    duty_service: IngestService,
    receivers: tuple[HttpReceiver, SmtpReceiver],
    config: dict[str, Any],
    publisher: Publisher,
) -> None:
    http, mail = receivers
    with TestClient(create_api(duty_service)) as api:
        shift = _current(api)
        saved = api.put("/api/duty/roster", json=[{**shift, "people": ["zhang"]}], headers=ADMIN)
        assert saved.status_code == 200, saved.text
        assert saved.json() == [{**shift, "people": ["zhang"]}]
        now = api.get("/api/duty/now", headers=VIEWER).json()
        assert now["people"] == [{"login": "zhang", "name": "张师傅"}]

        smoke(publisher, config, 1, on=True, device="smoke-1")
        wecom = wait_for(lambda: next(iter(_to(http, "/wecom")), None), 15)
        assert wecom["msgtype"] == "text"  # a mention needs the text type
        assert wecom["text"]["mentioned_list"] == ["zhangsan"]
        envelope, message = wait_for(lambda: mail.messages[0] if mail.messages else None, 15)
        assert envelope.rcpt_tos == ["zhang@example.cn"]  # not the office's mailbox
        assert message["To"] == "zhang@example.cn"
        assert _to(http, "/guardroom") == []

        # Nobody on this shift: the fallback is told, the people are not.
        emptied = api.put("/api/duty/roster", json=[{**shift, "people": []}], headers=ADMIN)
        assert emptied.status_code == 200
        assert api.get("/api/duty/now", headers=VIEWER).json()["people"] == []
        smoke(publisher, config, 2, on=True, device="smoke-2")
        guardroom = wait_for(lambda: next(iter(_to(http, "/guardroom")), None), 15)
        assert guardroom["device"] == "smoke-2"
        assert any(p.startswith("on_duty: nobody on duty") for p in duty_service.problems.current())
        assert len(_to(http, "/wecom")) == 1
        assert len(mail.messages) == 1


def test_the_roster_refuses_what_it_cannot_keep(duty_service: IngestService) -> None:
    day = {"date": "2026-12-07", "shift": "night"}
    with TestClient(create_api(duty_service)) as api:
        for body, why in (
            ([{**day, "people": ["nobody"]}], "nobody who may log in is 'nobody'"),
            ([{**day, "shift": "evening", "people": []}], "no shift 'evening'"),
            ([{**day, "date": "2026-13-01", "people": []}], "date"),
        ):
            refused = api.put("/api/duty/roster", json=body, headers=ADMIN)
            assert refused.status_code == 422, body
            assert why in refused.text
        only_admins = api.put("/api/duty/roster", json=[{**day, "people": []}], headers=GUARD)
        assert only_admins.status_code == 403
        listed = api.get(
            "/api/duty/roster", params={"from": "2026-12-07", "to": "2026-12-07"}, headers=VIEWER
        )
        assert listed.json() == [
            {"date": "2026-12-07", "shift": "day", "people": []},
            {"date": "2026-12-07", "shift": "night", "people": []},
        ]
    assert duty_service.duty.books.all("roster") == []  # nothing of a refused change kept


def test_the_board_says_who_is_on_duty_and_warns_of_an_empty_shift(
    duty_service: IngestService,
) -> None:
    with TestClient(create_api(duty_service)) as api:
        log_in(api, "zhang", "guard password 1")
        nobody = api.get("/").text
        assert re.search(r'<p class="duty warn" id="on-duty">(白班|夜班)没有人值班', nobody)
        assert "未来 14 天有" in nobody  # and the shifts ahead are empty too
        shift = _current(api)
        saved = api.put("/api/duty/roster", json=[{**shift, "people": ["zhang"]}], headers=ADMIN)
        assert saved.status_code == 200
        board = api.get("/").text
        assert re.search(
            r'<p class="duty warn" id="on-duty">值班：张师傅（(白班|夜班)，到 (07|19):00）', board
        )


def test_tomorrows_people_are_reminded_once_the_evening_before(
    config: dict[str, Any], receivers: tuple[HttpReceiver, SmtpReceiver]
) -> None:
    http, _mail = receivers
    config["channels"] = {"group": {"type": "wecom", "url": http.url("/wecom")}}
    config["duty"] = {"shifts": SHIFTS, "contacts": {"wecom": "group"}}
    clock = ManualClock(local("2026-12-07 17:59").timestamp())
    service = IngestService(IngestConfig.model_validate(config), clock)
    service.start()
    try:
        service.people.add("zhang", "张师傅", "guard", "guard password 1")
        service.people.add("li", "李师傅", "guard", "guard password 2")  # no contact
        service.people.set_contacts("zhang", Contacts.checked(wecom_userid="zhangsan"))
        tomorrow = date(2026, 12, 8)
        service.duty.roster.put(
            [RosterEntry(date=tomorrow, shift="night", people=["zhang", "li"])], "王主任"
        )
        remind = service.duty.reminders
        assert remind.due(service.outbox, service.dispatcher.wake) == 0  # not 18:00 yet
        clock.advance(120)
        assert remind.due(service.outbox, service.dispatcher.wake) == 1  # li has no contact
        body = wait_for(lambda: next(iter(_to(http, "/wecom")), None), 10)
        assert body["text"]["mentioned_list"] == ["zhangsan"]
        assert "明天（12月8日）夜班 19:00–07:00 由您值班" in body["text"]["content"]
        assert remind.due(service.outbox, service.dispatcher.wake) == 0  # once a day
    finally:
        service.stop()
    again = IngestService(IngestConfig.model_validate(config), clock)
    again.start()
    try:
        assert again.duty.roster.entries(tomorrow, tomorrow)[1].people == ["zhang", "li"]
        assert again.duty.reminders.due(again.outbox, lambda _c: None) == 0  # not after a restart
        time.sleep(1)  # the duty timer's first tick has run: it queued nothing either
        assert len(_to(http, "/wecom")) == 1
    finally:
        again.stop()
