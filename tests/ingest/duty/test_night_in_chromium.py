"""A whole night of the duty books in headless Chromium, on a manual clock (SPEC §11): the
admin puts the guard on the night shift; a smoke alarm reaches the guard through the WeCom
robot's @-mention; a round finds the gate unlocked, the lock sensor confirms it locked,
the kitchen is missed and ``round_missed`` fires; a low battery opens a work order and a
healthy reading closes it; a food sample is logged and carries its fridge's log; a
visitor is signed in with the gate picture; the guard hands over and the admin takes
over. Every page is checked at 360 px without sideways scroll and saved as a screenshot
(var/artefacts/night-*.png). Real broker, database, HTTP receiver and uvicorn."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect

from campuswatch.protocol import DeviceRef
from demo.services import free_port
from ingest.app import IngestService
from ingest.config import IngestConfig
from ingest.people.contacts import Contacts
from ingest.web.server import make_server
from tests.clock import ManualClock
from tests.harness import SMOKE_RULE, Publisher, envelope, reading, wait_for
from tests.ingest.reports.data import local
from tests.ingest.web.console.browser import chromium, log_in, phone
from tests.ingest.web.console.web import meta
from tests.receivers import HttpReceiver, http_receiver

ARTEFACTS = Path(__file__).resolve().parents[3] / "var" / "artefacts"
DEVICES = [
    {"device": "door-gate", "kind": "door", "name": "大门", "tags": {"building": "gate"}},
    {
        "device": "door-kitchen",
        "kind": "door",
        "name": "厨房后门",
        "tags": {"building": "canteen", "room": "kitchen"},
    },
    {
        "device": "smoke-kitchen",
        "kind": "smoke",
        "name": "厨房烟感",
        "tags": {"building": "canteen", "room": "kitchen"},
    },
    {
        "device": "sample-fridge",
        "kind": "temperature",
        "name": "留样柜",
        "interval_s": 60,
        "tags": {"building": "canteen", "room": "kitchen", "class": "sample_fridge"},
    },
]
JPEG = b"\xff\xd8\xff\xe0" + b"gate" * 200 + b"\xff\xd9"


@pytest.fixture
def night(
    config: dict[str, Any], publisher: Publisher
) -> Iterator[tuple[IngestService, str, ManualClock, HttpReceiver]]:
    with http_receiver() as receiver:
        port = free_port()
        config["api"]["port"] = port
        config["api"]["public_url"] = f"http://127.0.0.1:{port}"
        config["channels"] = {
            "group": {"type": "wecom", "url": receiver.url("/wecom")},
            "guardroom": {"type": "webhook", "url": receiver.url("/guardroom")},
        }
        config["rules"] = [
            {**SMOKE_RULE, "notify": ["on_duty"]},
            {"id": "round-missed", "round_missed": "night-round", "notify": ["on_duty"]},
        ]
        config["duty"] = {
            "shifts": {
                "day": {"from": "07:00", "to": "19:00"},
                "night": {"from": "19:00", "to": "07:00"},
            },
            "fallback": ["guardroom"],
            "contacts": {"wecom": "group"},
            "checkpoints": [
                {"id": "gate", "name": "大门", "place": "gate"},
                {"id": "kitchen", "name": "厨房", "place": "canteen/kitchen"},
            ],
            "rounds": [
                {
                    "id": "night-round",
                    "name": "夜间巡逻",
                    "at": ["21:00"],
                    "within": "30m",
                    "checkpoints": ["gate", "kitchen"],
                }
            ],
            "visitor_camera": "cam-gate",
        }
        clock = ManualClock(local("2026-12-07 20:00").timestamp())
        service = IngestService(IngestConfig.model_validate(config), clock)
        service.start()
        assert service.wait_ready()
        service.people.add("zhang", "张师傅", "guard", "guard password 1")
        service.people.set_contacts("zhang", Contacts.checked(wecom_userid="zhangsan"))
        service.people.add("wang", "王主任", "admin", "admin password 1")
        meta(publisher, config, DEVICES)
        wait_for(
            lambda: service.registry.device_info("sunshine-kg", "gw-main", "sample-fridge"), 10
        )
        server = make_server(service)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        wait_for(lambda: server.started, 10)
        try:
            yield service, f"http://127.0.0.1:{port}", clock, receiver
        finally:
            server.should_exit = True
            thread.join(10)
            service.stop()


def _send(
    publisher: Publisher,
    config: dict[str, Any],
    clock: ManualClock,
    seq: int,
    device: str,
    kind: str,
    **values: Any,
) -> None:
    root = f"{config['mqtt']['topic_root']}/sunshine-kg/gw-main/readings"
    publisher.publish(
        root, envelope("gw-main", seq, [reading(device, kind, int(clock.time() * 1000), **values)])
    )


def _shot(page: Page, name: str) -> None:
    wide = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert wide, f"{page.url} scrolls sideways"
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / f"night-{name}.png"), full_page=True)


def _wecom(receiver: HttpReceiver) -> list[dict[str, Any]]:
    return [r.body for r in receiver.requests if r.path == "/wecom"]


def test_a_whole_night_of_the_duty_books(
    night: tuple[IngestService, str, ManualClock, HttpReceiver],
    publisher: Publisher,
    config: dict[str, Any],
) -> None:
    service, api, clock, receiver = night
    with chromium() as browser:
        _night(browser, service, api, clock, receiver, publisher, config)


def _night(
    browser: Browser,
    service: IngestService,
    api: str,
    clock: ManualClock,
    receiver: HttpReceiver,
    publisher: Publisher,
    config: dict[str, Any],
) -> None:
    with phone(browser) as (admin_context, _), phone(browser) as (guard_context, _):
        admin, guard = admin_context.new_page(), guard_context.new_page()
        # 20:00 — the admin puts 张师傅 on tonight's shift.
        log_in(admin, api, "wang", "admin password 1")
        admin.goto(f"{api}/duty/roster?from=2026-12-07")
        admin.fill("input[name='cell.2026-12-07.night']", "zhang")
        admin.click("text=保存排班")
        expect(admin.locator(".notice")).to_contain_text("已保存")
        _shot(admin, "roster-360x640")
        log_in(guard, api, "zhang", "guard password 1")
        expect(guard.locator("#on-duty")).to_contain_text("值班：张师傅（夜班，到 07:00）")
        _shot(guard, "board-360x640")

        # A smoke alarm: the robot @-mentions the guard on duty.
        _send(publisher, config, clock, 1, "smoke-kitchen", "smoke", smoke=True)
        first = wait_for(lambda: next(iter(_wecom(receiver)), None), 15)
        assert first["text"]["mentioned_list"] == ["zhangsan"]

        # 21:05 — the round: the gate is unlocked; locked now, the sensor confirms it.
        service.duty.rounds.check_closed(service.engine.on_round)
        _send(publisher, config, clock, 2, "door-gate", "door", open=False, locked=False)
        clock.advance(65 * 60)
        gate = next(c for c in service.duty.config.checkpoints if c.id == "gate")
        link = urlsplit(service.duty.rounds.url(gate.id))
        guard.goto(f"{api}{link.path}?{link.query}")
        expect(guard.locator(".summary")).to_contain_text("现在就锁好")
        expect(guard.locator(".summary")).to_contain_text("大门")
        _shot(guard, "checkpoint-360x640")
        guard.fill("textarea[name=note]", "门已锁好")
        guard.click("text=已到此处，记录巡查")
        expect(guard.locator(".notice")).to_contain_text("已记录本次巡查")
        _send(publisher, config, clock, 3, "door-gate", "door", open=False, locked=True)
        wait_for(
            lambda: service.registry.device("sunshine-kg", "gw-main", "door-gate").values.get(
                "locked"
            ),
            10,
        )  # type: ignore[union-attr]
        guard.goto(f"{api}{link.path}?{link.query}")
        expect(guard.locator("text=现在就锁好")).to_have_count(0)

        # 21:35 — the kitchen was never visited: round_missed reaches the guard on duty.
        clock.advance(30 * 60)
        service.duty.rounds.check_closed(service.engine.on_round)
        missed = wait_for(
            lambda: next((b for b in _wecom(receiver) if "巡逻漏检" in b["text"]["content"]), None),
            15,
        )
        assert "夜间巡逻 21:00（漏：厨房）" in missed["text"]["content"]
        guard.goto(f"{api}/duty/rounds")
        expect(guard.locator(".ledger").first).to_contain_text("夜间巡逻")
        # The gate found unlocked at the scan, and locked since: the sensor confirms it.
        expect(guard.locator(".ledger").first).to_contain_text("大门 已锁好（传感器确认）")
        expect(guard.locator(".bad").first).to_contain_text("漏：厨房")
        _shot(guard, "rounds-360x640")

        # A low battery opens a work order, a healthy reading closes it.
        _send(
            publisher,
            config,
            clock,
            4,
            "door-kitchen",
            "door",
            open=False,
            locked=True,
            battery=10.0,
        )
        wait_for(lambda: service.duty.books.all("workorders"), 10)
        guard.goto(f"{api}/duty/workorders")
        expect(guard.locator(".ledger").first).to_contain_text("厨房后门：电量低")
        _shot(guard, "workorders-360x640")
        clock.advance(20 * 60)
        _send(
            publisher,
            config,
            clock,
            5,
            "door-kitchen",
            "door",
            open=False,
            locked=True,
            battery=95.0,
        )
        wait_for(
            lambda: (
                service.duty.workorders.view(service.duty.books.all("workorders")[0])["state"]
                == "done"
            ),
            10,
        )

        # A food sample, and its fridge's log once readings came in.
        guard.goto(f"{api}/duty/samples")
        guard.select_option("select[name=meal]", "dinner")
        guard.fill("input[name=dish0]", "番茄炒蛋")
        guard.fill("input[name=grams0]", "150")
        guard.click("text=记录留样")
        expect(guard.locator(".notice")).to_contain_text("已保存")
        for i in range(5):
            clock.advance(60)
            _send(
                publisher,
                config,
                clock,
                10 + i,
                "sample-fridge",
                "temperature",
                celsius=3.5 + i * 0.1,
            )
        wait_for(lambda: service.duty.samples.between(0, 2**62)[0]["fridge"]["min"] is not None, 15)
        guard.reload()
        expect(guard.locator(".ledger")).to_contain_text("柜温 3.5～3.9 ℃")
        expect(guard.locator(".ledger")).to_contain_text("还需保存 47 小时")
        _shot(guard, "samples-360x640")

        # A visitor, with the gate camera's picture of the moment.
        service.snapshots.save(DeviceRef("sunshine-kg", "gw-gate", "cam-gate"), "v1", JPEG)
        guard.goto(f"{api}/duty/visitors")
        guard.fill("input[name=name]", "李四")
        guard.fill("input[name=phone]", "13812345678")
        guard.fill("input[name=visiting]", "食堂 送菜")
        guard.fill("input[name=approved_by]", "王主任")
        guard.click("text=登记进入")
        expect(guard.locator(".ledger").first).to_contain_text("138****5678")
        expect(guard.locator("img.thumb")).to_have_count(1)
        _shot(guard, "visitors-360x640")
        guard.goto(f"{api}/")  # in the evening the board asks who is still in
        expect(guard.locator("#duty-notes")).to_contain_text("1 位访客还没登记离开")

        # Handover: the night's events are in the draft; the admin takes over.
        guard.goto(f"{api}/duty/handover")
        draft = guard.locator(".handover")
        expect(draft).to_contain_text("烟雾报警")
        expect(draft).to_contain_text("巡逻漏检")
        expect(draft).to_contain_text("李四")
        guard.fill("textarea[name=note]", "烟感待查")
        guard.click("text=交班（我是交班人）")
        expect(guard.locator(".notice")).to_contain_text("已保存")
        _shot(guard, "handover-360x640")
        admin.goto(f"{api}/duty/handover")
        admin.click("button:has-text('接班确认')")
        expect(admin.locator(".ledger")).to_contain_text("王主任")
        [handover] = service.duty.books.all("handovers")
        assert service.duty.handovers.view(handover)["confirmed_by"] == "王主任"
        admin.goto(f"{api}/duty/handovers/{handover.id}/print")
        _shot(admin, "handover-print-360x640")
        guard.goto(f"{api}/duty")
        _shot(guard, "duty-360x640")
    assert service.duty.books.verify() == []
