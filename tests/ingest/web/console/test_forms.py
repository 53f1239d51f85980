"""The console's forms and its refusals, each with a clear page and status, against the
running service (real broker and database): logins, CSRF, roles, sessions, ack links."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape

from ingest.app import IngestService
from ingest.config import IngestConfig
from ingest.people.csrf import ANON_COOKIE
from ingest.people.store import Person
from ingest.web.app import create_api
from tests.harness import Publisher, count_points, envelope, reading, wait_for
from tests.ingest.web.console.web import (
    PEOPLE,
    alerting_config,
    csrf_of,
    log_in,
    meta,
    page_csrf,
    smoke,
)
from tests.receivers import HttpReceiver, http_receiver


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with http_receiver() as r:
        yield r


@pytest.fixture
def service(config: dict[str, Any], receiver: HttpReceiver) -> Iterator[IngestService]:
    svc = IngestService(IngestConfig.model_validate(alerting_config(config, receiver)))
    svc.start()
    assert svc.wait_ready()
    for login, (name, role, password) in PEOPLE.items():
        svc.people.add(login, name, role, password)
    yield svc
    svc.stop()


@pytest.fixture
def web(service: IngestService) -> Iterator[TestClient]:
    with TestClient(create_api(service)) as client:
        yield client


def _firing(
    publisher: Publisher, config: dict[str, Any], receiver: HttpReceiver, seq: int = 1
) -> dict[str, Any]:
    smoke(publisher, config, seq, on=True, device=f"smoke-{seq}")
    return wait_for(
        lambda: next((b for b in receiver.bodies() if b["device"] == f"smoke-{seq}"), None), 10
    )


def test_login_logout_and_the_board_needs_a_session(web: TestClient) -> None:
    assert web.get("/", follow_redirects=False).headers["location"] == "/login?next=%2F"
    done = log_in(web, "zhang")
    assert (done.status_code, done.headers["location"]) == (303, "/")
    cookie = done.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    board = web.get("/")
    assert board.status_code == 200
    assert "张师傅" in board.text
    assert web.get("/api/session").json() == {
        "name": "张师傅",
        "role": "guard",
        "login": "zhang",
        "areas": [],
    }
    out = web.post("/logout", data={"csrf": csrf_of(board.text)}, follow_redirects=False)
    assert out.status_code == 303
    assert web.get("/api/session").status_code == 401


def test_each_login_failure_has_its_page(web: TestClient, service: IngestService) -> None:
    wrong = log_in(web, "zhang", "not it")
    assert wrong.status_code == 401
    assert "账号或密码错误" in wrong.text
    unknown = log_in(web, "nobody", "whatever")
    assert (unknown.status_code, "账号或密码错误" in unknown.text) == (401, True)
    form = web.get("/login")
    token = csrf_of(form.text)
    data = {"login": "zhang", "password": PEOPLE["zhang"][2]}
    assert web.post("/login", data=data).status_code == 403  # no CSRF token
    forged = web.post("/login", data={**data, "csrf": token[:-4] + "0000"})
    assert forged.status_code == 403
    assert "页面已过期" in forged.text
    expired = service.csrf.token(web.cookies[ANON_COOKIE], service.clock.time() - 13 * 3600)
    assert web.post("/login", data={**data, "csrf": expired}).status_code == 403
    other = TestClient(web.app)  # another browser's token does not fit this one
    assert other.post("/login", data={**data, "csrf": token}).status_code == 403
    for _ in range(3):
        log_in(web, "li", "wrong")
    slowed = log_in(web, "li")  # the right password, but too soon after three failures
    assert slowed.status_code == 429
    assert "秒后再试" in slowed.text


def test_a_login_is_locked_after_repeated_failures(
    config: dict[str, Any], receiver: HttpReceiver
) -> None:
    config["console"] = {"slow_after": 2, "lock_after": 4, "lockout": "15m"}
    service = IngestService(IngestConfig.model_validate(alerting_config(config, receiver)))
    service.start()
    service.people.add("li", "李老师", "viewer", PEOPLE["li"][2])
    try:
        with TestClient(create_api(service)) as web:
            for pause in (0, 0, 1.1, 2.1):  # the waits the throttle asks for
                time.sleep(pause)
                assert log_in(web, "li", "wrong").status_code == 401
            locked = log_in(web, "li")
            assert locked.status_code == 429
            assert "已锁定 15 分钟" in locked.text
    finally:
        service.stop()


def test_a_viewer_cannot_acknowledge(
    web: TestClient,
    service: IngestService,
    publisher: Publisher,
    config: dict[str, Any],
    receiver: HttpReceiver,
) -> None:
    body = _firing(publisher, config, receiver)
    log_in(web, "li")
    page = web.get(f"/alerts/{body['alert_id']}")
    assert "只能查看" in page.text
    assert 'action="/alerts/' not in page.text
    posted = web.post(f"/alerts/{body['alert_id']}/ack", data={"csrf": csrf_of(page.text)})
    assert posted.status_code == 403
    api = web.post(
        f"/api/alerts/{body['alert_id']}/ack",
        json={"note": ""},
        headers={"X-CSRF-Token": page_csrf(page.text)},
    )
    assert api.status_code == 403
    assert service.alert_store.alert(body["alert_id"]).state == "firing"  # type: ignore[union-attr]


def test_a_guard_acknowledges_on_the_console_and_the_api_names_them(
    web: TestClient, publisher: Publisher, config: dict[str, Any], receiver: HttpReceiver
) -> None:
    first, second = _firing(publisher, config, receiver, 1), _firing(publisher, config, receiver, 2)
    log_in(web, "zhang")
    page = web.get(f"/alerts/{first['alert_id']}")
    done = web.post(
        f"/alerts/{first['alert_id']}/ack",
        data={"csrf": csrf_of(page.text), "note": "到场查看\x07，误报\x00"},
    )
    assert "已确认" in done.text
    api = web.get(f"/api/alerts/{first['alert_id']}").json()
    assert api["acknowledged_by"] == "张师傅"
    assert api["ack_note"] == "到场查看，误报"  # control characters removed
    again = web.post(f"/alerts/{first['alert_id']}/ack", data={"csrf": csrf_of(page.text)})
    assert again.status_code == 409
    assert "张师傅" in again.text
    # The API with the session cookie: a write needs the page's CSRF token.
    url = f"/api/alerts/{second['alert_id']}/ack"
    assert web.post(url, json={"note": "x"}).status_code == 403
    ok = web.post(url, json={"note": "x"}, headers={"X-CSRF-Token": page_csrf(page.text)})
    assert ok.status_code == 200
    assert ok.json()["acknowledged_by"] == "张师傅"


def test_a_session_ends_when_the_person_is_disabled(
    web: TestClient, service: IngestService
) -> None:
    log_in(web, "zhang")
    assert web.get("/api/session").status_code == 200
    admin = TestClient(web.app)
    log_in(admin, "wang")
    people = admin.get("/people")
    assert "张师傅" in people.text
    done = admin.post("/people/zhang/disable", data={"csrf": csrf_of(people.text)})
    assert done.status_code == 200
    assert web.get("/api/session").status_code == 401
    assert web.get("/", follow_redirects=False).status_code == 303
    assert (
        admin.post("/people/wang/disable", data={"csrf": csrf_of(people.text)}).status_code == 400
    )
    added = admin.post(
        "/people",
        data={
            "csrf": csrf_of(people.text),
            "login": "zhao",
            "name": "赵阿姨",
            "role": "guard",
            "password": "canteen pass 1",
        },
    )
    assert "赵阿姨" in added.text
    assert service.people.person("zhao") is not None
    # Adding a login that exists is refused, and changes nothing.
    typo = {"login": "zhang", "name": "张三", "role": "admin", "password": "a typo pass"}
    refused = admin.post("/people", data={"csrf": csrf_of(people.text), **typo})
    assert refused.status_code == 409
    assert "登录名 zhang 已存在，未做任何更改" in refused.text
    assert service.people.person("zhang") == Person("zhang", "张师傅", "guard", disabled=True)
    # Changing is its own, explicit form.
    changed = admin.post(
        "/people/zhao/change",
        data={"csrf": csrf_of(people.text), "name": "赵阿姨（食堂）", "role": "viewer"},
    )
    assert changed.status_code == 200
    assert service.people.person("zhao") == Person("zhao", "赵阿姨（食堂）", "viewer")
    viewer = TestClient(web.app)
    log_in(viewer, "li")
    assert viewer.get("/people").status_code == 403
    # An admin giving themselves an area stays logged in, and has it at once.
    people = admin.get("/people")
    mine = {"csrf": csrf_of(people.text), "name": "王园长", "role": "admin", "areas": "canteen"}
    assert admin.post("/people/wang/change", data=mine).status_code == 200
    assert admin.get("/api/session").json()["areas"] == ["canteen"]


def _link(body: dict[str, Any]) -> str:
    return urlsplit(body["ack_url"]).path


def test_an_ack_link_acknowledges_once_and_a_preview_changes_nothing(
    web: TestClient,
    service: IngestService,
    publisher: Publisher,
    config: dict[str, Any],
    receiver: HttpReceiver,
) -> None:
    body = _firing(publisher, config, receiver)
    alert_id, link = body["alert_id"], _link(body)
    assert link.startswith(f"/ack/{alert_id}/")
    for _ in range(3):  # chat apps fetch links to draw previews
        assert web.head(link).status_code == 200
        preview = web.get(link)
        assert preview.status_code == 200
    assert service.alert_store.alert(alert_id).state == "firing"  # type: ignore[union-attr]
    token = csrf_of(preview.text)
    too_long = web.post(link, data={"csrf": token, "name": "张" * 500, "note": ""})
    assert too_long.status_code == 400
    assert web.post(link, data={"csrf": token, "name": "  ", "note": ""}).status_code == 400
    name = '<script>alert("x")</script>'
    done = web.post(link, data={"csrf": token, "name": name, "note": "<b>已处理</b>"})
    assert done.status_code == 200
    record = service.alert_store.alert(alert_id)
    assert record is not None
    assert record.acknowledged_by == name + "（链接填写）"  # not like a logged-in person
    used = web.post(link, data={"csrf": token, "name": "又一个人", "note": ""})
    assert used.status_code == 409
    assert "用过" in used.text
    assert web.get(link).status_code == 409
    # Wherever the name is shown, it is text, not markup.
    log_in(web, "zhang")
    for page in (web.get(f"/alerts/{alert_id}").text, web.get("/").text):
        assert name not in page
        assert str(escape(name)) in page


def test_bad_ack_links_get_their_page(
    web: TestClient,
    service: IngestService,
    publisher: Publisher,
    config: dict[str, Any],
    receiver: HttpReceiver,
) -> None:
    first, second = _firing(publisher, config, receiver, 1), _firing(publisher, config, receiver, 2)
    link = _link(first)
    forged = link[:-6] + "abcdef"
    assert web.get(forged).status_code == 403
    assert "无效" in web.get(forged).text
    assert web.get(f"/ack/{first['alert_id']}/garbage").status_code == 403
    other = link.replace(f"/ack/{first['alert_id']}/", f"/ack/{second['alert_id']}/")
    assert web.get(other).status_code == 403
    assert "另一条告警" in web.get(other).text
    old = service.ack_links.url(first["alert_id"], service.clock.time() - 25 * 3600)
    expired = web.get(urlsplit(old).path)
    assert expired.status_code == 410
    assert "过期" in expired.text
    # An alert that is over cannot be acknowledged: the link says so and changes nothing.
    form = web.get(_link(second))  # while it fires: the form (and this browser's token)
    smoke(publisher, config, 9, on=False, device="smoke-2")
    wait_for(lambda: service.alert_store.alert(second["alert_id"]).state == "resolved", 10)  # type: ignore[union-attr]
    page = web.get(_link(second))
    assert "已经恢复" in page.text
    assert 'name="note"' not in page.text  # no form for an alert that is over
    late = web.post(_link(second), data={"csrf": csrf_of(form.text), "name": "张三"})
    assert late.status_code == 409
    assert "已经恢复" in late.text
    assert service.alert_store.alert(second["alert_id"]).acknowledged_by is None  # type: ignore[union-attr]


def test_notifications_carry_the_ack_link_only_while_it_can_be_used(
    web: TestClient, publisher: Publisher, config: dict[str, Any], receiver: HttpReceiver
) -> None:
    body = _firing(publisher, config, receiver)
    assert body["ack_url"].startswith(f"http://127.0.0.1:{config['api']['port']}/ack/")
    smoke(publisher, config, 2, on=False)
    resolved = wait_for(lambda: [b for b in receiver.bodies() if b["state"] == "resolved"], 10)
    assert resolved[0]["ack_url"] is None


def test_places_read_in_chinese_on_the_board_and_tonight(
    config: dict[str, Any], receiver: HttpReceiver, publisher: Publisher
) -> None:
    config["places"] = {"main": "教学楼", "main/101": "小一班教室"}
    svc = IngestService(IngestConfig.model_validate(alerting_config(config, receiver)))
    svc.start()
    try:
        assert svc.wait_ready()
        svc.people.add("zhang", *PEOPLE["zhang"])
        tags = {"building": "main", "room": "101"}
        doors = [
            {"device": "door-101", "kind": "door", "name": "后门", "tags": tags},
            {"device": "door-102", "kind": "door", "name": "前门", "tags": tags},
            {"device": "door-103", "kind": "door", "name": "侧门", "tags": tags},  # silent
        ]
        meta(publisher, config, doors)
        root = config["mqtt"]["topic_root"]
        now = int(time.time() * 1000)
        readings = [
            reading("door-101", "door", now, open=True, locked=False),
            reading("door-102", "door", now, open=False, locked=True, tamper=True),
        ]
        publisher.publish(f"{root}/sunshine-kg/gw-main/readings", envelope("gw-main", 1, readings))
        wait_for(lambda: svc.registry.device("sunshine-kg", "gw-main", "door-102"), 10)
        with TestClient(create_api(svc)) as web:
            log_in(web, "zhang")
            board = web.get("/").text
            tonight = web.get("/tonight").text
        assert '<a href="/?building=main" class="chip">教学楼</a>' in board  # the id in the link
        assert "<h3>教学楼</h3>" in board
        assert "<h4>小一班教室</h4>" in board
        assert ">main<" not in board
        assert '<span class="place">教学楼 小一班教室</span>' in tonight
        assert "另有 1 扇门已关好上锁。" in tonight  # fine: closed, locked and heard from
        assert "1 处门未关好" in board  # a tamper flag is not a door left open
        assert 'href="/device?site=sunshine-kg&amp;gateway=gw-main&amp;device=door-101"' in tonight
        assert "今晚门锁" in tonight
    finally:
        svc.stop()


def test_a_guard_limited_to_areas_acknowledges_there_only(
    web: TestClient,
    service: IngestService,
    publisher: Publisher,
    config: dict[str, Any],
    receiver: HttpReceiver,
) -> None:
    """SPEC §9 v3: the canteen staff acknowledge their own alarms, not every door's; they
    see every alert, theirs first; any other attempt is 403 and changes nothing."""
    service.people.add("zhao", "赵阿姨", "guard", "canteen pass 1", ["canteen"])
    devices = [
        {"device": "smoke-1", "kind": "smoke", "name": "教学楼烟感", "tags": {"building": "main"}},
        {"device": "smoke-2", "kind": "smoke", "name": "厨房烟感", "tags": {"building": "canteen"}},
    ]
    meta(publisher, config, devices)
    wait_for(lambda: service.registry.device_info("sunshine-kg", "gw-main", "smoke-2"), 10)
    canteen = _firing(publisher, config, receiver, 2)
    main = _firing(publisher, config, receiver, 1)  # newer: first for everyone else
    log_in(web, "zhao", "canteen pass 1")
    board = web.get("/").text
    alerts = board[board.index('id="alerts"') :]
    assert alerts.index("厨房烟感") < alerts.index("教学楼烟感")  # theirs first
    assert 'data-areas="canteen"' in board  # the browser keeps them first as alerts change
    page = web.get(f"/alerts/{main['alert_id']}")
    assert "不在您负责的区域" in page.text
    assert f'action="/alerts/{main["alert_id"]}/ack"' not in page.text
    refused = web.post(f"/alerts/{main['alert_id']}/ack", data={"csrf": csrf_of(page.text)})
    assert refused.status_code == 403
    assert "不在您负责的区域" in refused.text  # refused for the area, not for the form
    api = web.post(
        f"/api/alerts/{main['alert_id']}/ack",
        json={"note": ""},
        headers={"X-CSRF-Token": page_csrf(page.text)},
    )
    assert api.status_code == 403
    assert "outside your areas" in api.json()["detail"]
    link = urlsplit(main["ack_url"]).path
    form = web.get(link)
    assert "不在您负责的区域" in form.text  # no form to fill in for nothing
    by_link = web.post(link, data={"csrf": csrf_of(page.text), "name": "赵阿姨"})
    assert by_link.status_code == 403  # logged in: the areas apply on a link too
    assert "不在您负责的区域" in by_link.text
    assert service.alert_store.alert(main["alert_id"]).state == "firing"  # type: ignore[union-attr]
    own = web.get(f"/alerts/{canteen['alert_id']}")
    # Moved to the gate while logged in: the same session may no longer acknowledge the
    # kitchen's alarm (areas are read at every request), and may again once moved back.
    service.people.change("zhao", "赵阿姨", "guard", ["gate"])
    moved = web.post(f"/alerts/{canteen['alert_id']}/ack", data={"csrf": csrf_of(own.text)})
    assert moved.status_code == 403
    service.people.change("zhao", "赵阿姨", "guard", ["canteen"])
    done = web.post(f"/alerts/{canteen['alert_id']}/ack", data={"csrf": csrf_of(own.text)})
    assert done.status_code == 200
    assert service.alert_store.alert(canteen["alert_id"]).acknowledged_by == "赵阿姨"  # type: ignore[union-attr]


def test_the_alert_log_says_what_happened_and_who_took_it(
    web: TestClient, publisher: Publisher, config: dict[str, Any], receiver: HttpReceiver
) -> None:
    first, second = _firing(publisher, config, receiver, 7), _firing(publisher, config, receiver, 8)
    log_in(web, "zhang")
    page = web.get(f"/alerts/{first['alert_id']}")
    web.post(f"/alerts/{first['alert_id']}/ack", data={"csrf": csrf_of(page.text)})
    log = web.get("/history")
    assert log.status_code == 200
    assert '<a href="/history">告警记录</a>' in log.text
    assert "的告警</h1>" in log.text  # today's, or last night's and today's
    assert log.text.index(f'href="/alerts/{second["alert_id"]}"') < log.text.index(
        f'href="/alerts/{first["alert_id"]}"'
    )  # newest first
    assert "张师傅 于" in log.text  # who acknowledged, and when
    assert "无人确认" in log.text  # the other one
    assert "仍未恢复" in log.text


def test_pages_say_things_once_and_in_words(
    web: TestClient, publisher: Publisher, config: dict[str, Any], receiver: HttpReceiver
) -> None:
    body = _firing(publisher, config, receiver, 11)
    link = _link(body)
    form = web.get(link)
    assert "备注（如：已到现场，是油烟）" in form.text  # a hint for a smoke alarm
    assert "烟感" in form.text  # what the device is, in words
    done = web.post(link, data={"csrf": csrf_of(form.text), "name": "老陈"})
    assert done.status_code == 200
    used = web.get(link)
    assert used.status_code == 409
    assert "老陈（链接填写） 已于" in used.text  # who took it and when, not an error
    assert '<section class="panel message ok">' in used.text  # calm, not red
    log_in(web, "zhang")
    page = web.get(f"/alerts/{body['alert_id']}").text
    assert page.count("老陈（链接填写） 已确认") == 1  # not "已确认 · … 已确认"
    forbidden = web.get("/people")
    assert forbidden.status_code == 403
    assert forbidden.text.count("您的账号无权这样做。") == 1


def test_a_device_page_shows_its_state_its_last_day_from_influxdb_and_its_alerts(
    web: TestClient, service: IngestService, publisher: Publisher, config: dict[str, Any]
) -> None:
    fridge = {
        "device": "fridge-'1\"",  # quotes: bound into InfluxQL, never pasted
        "kind": "temperature",
        "name": "冷藏柜 1",
        "tags": {"building": "canteen", "class": "refrigerator"},
    }
    meta(publisher, config, [fridge])
    root = config["mqtt"]["topic_root"]
    now = int(time.time() * 1000)
    hours = [
        reading(fridge["device"], "temperature", now - h * 1_800_000, celsius=3.0 + h % 4)
        for h in range(12, -1, -1)
    ]
    publisher.publish(f"{root}/sunshine-kg/gw-main/readings", envelope("gw-main", 1, hours))
    wait_for(lambda: count_points(service.influx, "temperature", "celsius") >= 13, 20)
    log_in(web, "li")  # a viewer may look
    query = {"site": "sunshine-kg", "gateway": "gw-main", "device": fridge["device"]}
    page = web.get("/device", params=query)
    assert page.status_code == 200
    assert "<h1>冷藏柜 1</h1>" in page.text
    assert "3.0 ℃" in page.text  # the latest reading
    assert "最近 24 小时" in page.text
    svg = page.text[page.text.index("<svg") : page.text.index("</svg>")]
    assert svg.count(",") >= 12  # a point a half hour, from InfluxDB
    assert svg.count('class="limit"') == 2  # 0 and 8 ℃, the refrigerator's limits
    week = web.get("/device", params={**query, "span": "week"})
    assert "最近 7 天" in week.text
    assert "<svg" in week.text
    missing = web.get("/device", params={**query, "device": "no-such"})
    assert missing.status_code == 404
    assert web.get("/", follow_redirects=False).status_code == 200
    assert (
        'href="/device?site=sunshine-kg&amp;gateway=gw-main&amp;device=fridge' in web.get("/").text
    )


def test_a_device_page_opens_when_influxdb_cannot_be_read(
    web: TestClient, service: IngestService, publisher: Publisher, config: dict[str, Any]
) -> None:
    meta(publisher, config, [{"device": "fridge-2", "kind": "temperature", "name": "冷藏柜 2"}])
    root = config["mqtt"]["topic_root"]
    one = [reading("fridge-2", "temperature", int(time.time() * 1000), celsius=4.0)]
    publisher.publish(f"{root}/sunshine-kg/gw-main/readings", envelope("gw-main", 1, one))
    wait_for(lambda: service.registry.device("sunshine-kg", "gw-main", "fridge-2"), 10)
    service.influx.database = "no_such_database"  # every query fails
    log_in(web, "zhang")
    page = web.get(
        "/device", params={"site": "sunshine-kg", "gateway": "gw-main", "device": "fridge-2"}
    )
    assert page.status_code == 200
    assert "暂时读不到历史数据" in page.text  # the page, without its chart
