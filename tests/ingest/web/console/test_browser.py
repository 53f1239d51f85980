"""The console in a real browser (headless Chromium) against ``campus-ingest run`` with real
mosquitto and influxd: a smoke alarm reaches the board live and is acknowledged there, an
ack link from a real webhook delivery works once without a login, nothing is loaded from
another host, the board fits a 360 px phone, and it reconnects after a restart."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
import pytest
from playwright.sync_api import Browser, Page, expect

from demo.services import InfluxServer, MosquittoServer
from tests.harness import (
    SMOKE_RULE,
    IngestProcess,
    Publisher,
    config_dict,
    envelope,
    reading,
    wait_for,
)
from tests.ingest.web.console.browser import chromium, log_in, phone
from tests.ingest.web.console.web import PEOPLE, meta, smoke
from tests.receivers import HttpReceiver, http_receiver

ARTEFACTS = Path(__file__).resolve().parents[4] / "var" / "artefacts"
GUARD = {"Authorization": "Bearer guard-token-1"}
LONG_NAME = "一年级（三）班教室后门门磁，靠近楼梯间" * 3  # 60 characters, no spaces


@pytest.fixture(scope="module")
def receiver() -> Iterator[HttpReceiver]:
    with http_receiver() as r:
        yield r


@pytest.fixture(scope="module")
def console(
    tmp_path_factory: pytest.TempPathFactory,
    broker: MosquittoServer,
    influxd: InfluxServer,
    receiver: HttpReceiver,
) -> Iterator[IngestProcess]:
    """``campus-ingest run`` with a smoke rule, the patrol's webhook and three people."""
    workdir = tmp_path_factory.mktemp("console")
    config = config_dict(workdir / "state", broker, influxd)
    config["channels"] = {"patrol": {"type": "webhook", "url": receiver.url()}}
    config["rules"] = [SMOKE_RULE]
    process = IngestProcess(config, workdir)
    for login, (name, role, password) in PEOPLE.items():
        added = subprocess.run(
            [
                sys.executable,
                "-m",
                "ingest.cli",
                "users",
                "add",
                "--config",
                str(process.config_path),
                login,
                "--name",
                name,
                "--role",
                role,
            ],
            input=password + "\n",
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert added.returncode == 0, added.stderr
    process.start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


def _log_in(page: Page, api: str, login: str) -> None:
    log_in(page, api, login, PEOPLE[login][2])


def _live(page: Page) -> None:
    expect(page.locator("body")).to_have_attribute("data-stream", "on", timeout=10_000)


def _body_of(receiver: HttpReceiver, device: str) -> dict[str, Any]:
    return wait_for(lambda: next((b for b in receiver.bodies() if b["device"] == device), None), 10)


def test_a_smoke_alarm_appears_live_and_is_acknowledged_on_the_board(
    console: IngestProcess, browser: Browser, publisher: Publisher, receiver: HttpReceiver
) -> None:
    config = console.config
    meta(
        publisher,
        config,
        [
            {
                "device": "smoke-1",
                "kind": "smoke",
                "name": "厨房烟感",
                "tags": {"building": "canteen", "room": "kitchen"},
            }
        ],
    )
    with phone(browser) as (context, _requests):
        page = context.new_page()
        _log_in(page, console.api, "zhang")
        _live(page)
        page.evaluate("window.__not_reloaded = true")
        started = time.monotonic()
        smoke(publisher, config, 1, on=True)
        card = page.locator("#alerts .alert", has_text="烟雾报警")
        expect(card).to_be_visible(timeout=2000)
        took = time.monotonic() - started
        assert page.evaluate("window.__not_reloaded") is True, "the board was not reloaded"
        expect(page.locator(".card", has_text="厨房烟感")).to_contain_text("烟雾报警")
        card.click()
        page.fill("textarea[name=note]", "已到厨房查看：做饭油烟，已开窗")
        page.click("button.primary")
        expect(page.locator(".notice")).to_contain_text("已确认")
    alert_id = _body_of(receiver, "smoke-1")["alert_id"]
    answer = httpx.get(f"{console.api}/api/alerts/{alert_id}", headers=GUARD).json()
    assert answer["acknowledged_by"] == "张师傅"
    assert answer["ack_note"] == "已到厨房查看：做饭油烟，已开窗"
    assert took < 2.0


def test_an_ack_link_from_a_webhook_works_once_without_logging_in(
    console: IngestProcess, browser: Browser, publisher: Publisher, receiver: HttpReceiver
) -> None:
    smoke(publisher, console.config, 2, on=True, device="smoke-2")
    link = _body_of(receiver, "smoke-2")["ack_url"]
    with phone(browser) as (context, _requests):
        page = context.new_page()
        response = page.goto(link)
        assert response is not None
        assert response.status == 200
        expect(page.locator("h1")).to_contain_text("烟雾报警")
        page.fill("input[name=name]", "保安 老陈")
        page.fill("textarea[name=note]", "已巡查")
        page.click("button.primary")
        expect(page.locator("main")).to_contain_text("已确认")
        again = page.goto(link)
        assert again is not None
        assert again.status == 409
        expect(page.locator("main")).to_contain_text("已经用过")
    alert_id = _body_of(receiver, "smoke-2")["alert_id"]
    answer = httpx.get(f"{console.api}/api/alerts/{alert_id}", headers=GUARD).json()
    assert answer["acknowledged_by"] == "保安 老陈（链接填写）"


def test_an_alarm_the_gateway_told_says_so_on_its_page_and_is_acknowledged_there(
    console: IngestProcess, browser: Browser, publisher: Publisher, receiver: HttpReceiver
) -> None:
    root = console.config["mqtt"]["topic_root"]
    on = int(time.time() * 1000) - 40_000  # 40 s ago, during a cut of the gateway's link
    told = {
        "gateway": "gw-main",
        "device": "smoke-e",
        "kind": "smoke",
        "field": "smoke",
        "ts": on,
        "told_ts": on + 30_000,
        "channels": ["guard-room"],
    }
    # As the gateway sends them when its link is back: its devices, what it told, then
    # its readings.
    kitchen = {"device": "smoke-1", "kind": "smoke", "name": "厨房烟感"}
    kitchen["tags"] = {"building": "canteen", "room": "kitchen"}
    meta(publisher, console.config, [kitchen, {"device": "smoke-e", "kind": "smoke"}])
    publisher.publish(f"{root}/sunshine-kg/gw-main/edge", orjson.dumps(told))
    payload = envelope("gw-main", 7, [reading("smoke-e", "smoke", on, smoke=True)])
    publisher.publish(f"{root}/sunshine-kg/gw-main/readings", payload)
    body = _body_of(receiver, "smoke-e")
    assert (body["state"], body["notified_by"]) == ("edge", "gateway")
    assert body["ack_url"]  # it waits for a person as any firing alarm does
    with phone(browser) as (context, _requests):
        page = context.new_page()
        _log_in(page, console.api, "zhang")
        page.goto(f"{console.api}/alerts/{body['alert_id']}")
        facts = page.locator("dl.facts")
        expect(facts).to_contain_text("中心连不上时，网关 gw-main 已于")
        expect(facts).to_contain_text("直接通知值班人员")
        expect(page.locator("ol.history")).to_contain_text("网关已直接通知")
        page.fill("textarea[name=note]", "已到现场")
        page.click("button.primary")
        expect(page.locator(".notice")).to_contain_text("已确认")
    answer = httpx.get(f"{console.api}/api/alerts/{body['alert_id']}", headers=GUARD).json()
    assert (answer["notified_by"], answer["acknowledged_by"]) == ("gateway", "张师傅")


def test_no_page_loads_anything_from_another_host_and_the_board_fits_a_phone(
    console: IngestProcess, browser: Browser, publisher: Publisher, receiver: HttpReceiver
) -> None:
    config = console.config
    meta(
        publisher,
        config,
        [
            {
                "device": f"door-{i}",
                "kind": "door",
                "name": LONG_NAME,
                "tags": {"building": "main", "room": f"{100 + i}"},
            }
            for i in range(12)
        ],
    )
    smoke(publisher, config, 3, on=True, device="smoke-3")
    alert_id = _body_of(receiver, "smoke-3")["alert_id"]
    with phone(browser) as (context, requests):
        page = context.new_page()
        _log_in(page, console.api, "wang")  # an admin sees every page
        _live(page)
        expect(page.locator(".card", has_text=LONG_NAME).first).to_be_visible()
        widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], f"sideways scrolling at 360 px: {widths}"
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTEFACTS / "console-board-360x640.png"), full_page=True)
        for path in (f"/alerts/{alert_id}", "/tonight", "/people", "/docs"):
            page.goto(f"{console.api}{path}")
            page.wait_for_load_state("networkidle")
            wide = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            assert wide or path == "/docs", f"{path} scrolls sideways at 360 px"
        expect(page.locator(".swagger-ui")).to_be_visible()  # the docs work offline
    service = urlsplit(console.api).netloc
    assert requests.urls
    foreign = [url for url in requests.urls if urlsplit(url).netloc != service]
    assert foreign == [], foreign


def test_the_board_shows_it_is_disconnected_and_catches_up_after_a_restart(
    console: IngestProcess, browser: Browser, publisher: Publisher, receiver: HttpReceiver
) -> None:
    with phone(browser) as (context, _requests):
        page = context.new_page()
        _log_in(page, console.api, "zhang")
        _live(page)
        console.stop()
        expect(page.locator("#offline")).to_be_visible(timeout=10_000)
        console.start()
        smoke(publisher, console.config, 4, on=True, device="smoke-4")
        _body_of(receiver, "smoke-4")
        expect(page.locator("#offline")).to_be_hidden(timeout=15_000)
        # The alarm raised while the console was cut off is on the board now.
        expect(page.locator("#alerts .alert", has_text="smoke-4")).to_be_visible(timeout=5000)


def test_a_person_limited_to_areas_keeps_their_alerts_first_as_alerts_arrive(
    console: IngestProcess, browser: Browser, publisher: Publisher, receiver: HttpReceiver
) -> None:
    cli = [sys.executable, "-m", "ingest.cli", "users", "add", "--config"]
    areas = ["zhao", "--name", "赵阿姨", "--role", "guard", "--areas", "canteen"]
    added = subprocess.run(
        [*cli, str(console.config_path), *areas],
        input="canteen pass 1\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert added.returncode == 0, added.stderr
    devices = [
        {"device": "smoke-c", "kind": "smoke", "name": "食堂烟感", "tags": {"building": "canteen"}},
        {"device": "smoke-m", "kind": "smoke", "name": "主楼烟感", "tags": {"building": "main"}},
    ]
    meta(publisher, console.config, devices)
    with phone(browser) as (context, _requests):
        page = context.new_page()
        page.goto(f"{console.api}/login")
        page.fill("input[name=login]", "zhao")
        page.fill("input[name=password]", "canteen pass 1")
        page.click("button[type=submit]")
        page.wait_for_url(f"{console.api}/")
        _live(page)
        smoke(publisher, console.config, 4, on=True, device="smoke-c")
        expect(page.locator("#alerts .alert", has_text="食堂烟感")).to_be_visible(timeout=5000)
        smoke(publisher, console.config, 5, on=True, device="smoke-m")  # newer: first for others
        expect(page.locator("#alerts .alert", has_text="主楼烟感")).to_be_visible(timeout=5000)
        expect(page.locator("#alerts .alert").first).to_contain_text("食堂烟感")


def test_a_new_alarm_sounds_vibrates_and_counts_in_the_title(
    console: IngestProcess, browser: Browser, publisher: Publisher
) -> None:
    devices = [{"device": "smoke-s", "kind": "smoke", "name": "礼堂烟感", "tags": {}}]
    meta(publisher, console.config, devices)
    with phone(browser) as (context, _requests):
        context.add_init_script(
            "window.__played = 0; window.__vibrated = 0;"
            "HTMLMediaElement.prototype.play = function () {"
            "  if (!this.muted && this.volume > 0) window.__played++; return Promise.resolve(); };"
            "navigator.vibrate = function () { window.__vibrated++; return true; };"
        )
        page = context.new_page()
        _log_in(page, console.api, "zhang")
        _live(page)
        ask = page.locator("#sound-on")
        expect(ask).to_be_visible()  # asked once: browsers need a tap before sound
        ask.click()
        expect(ask).to_be_hidden()
        assert page.evaluate("window.__played") == 0
        smoke(publisher, console.config, 6, on=True, device="smoke-s")
        expect(page.locator("#alerts .alert", has_text="礼堂烟感")).to_be_visible(timeout=5000)
        wait_for(lambda: page.evaluate("window.__played") >= 1, 5)
        assert page.evaluate("window.__vibrated") >= 1
        firing = page.locator("#alerts .alert.st-firing").count()
        assert page.title().startswith(f"({firing}) ")
        page.reload()
        _live(page)
        expect(page.locator("#sound-on")).to_be_hidden()  # remembered
        assert page.evaluate("window.__played") == 0  # nothing new: no sound on a reload


def test_what_needs_a_person_is_on_the_first_screen_of_a_phone(
    console: IngestProcess, browser: Browser, publisher: Publisher
) -> None:
    """The open back door's card was 1,975 px down a 360 px board: the summary line and
    what needs a person come first, and follow the live state."""
    rooms = [
        {
            "device": f"door-{i}",
            "kind": "door",
            "name": f"{100 + i} 教室门",
            "tags": {"building": "main", "room": f"{100 + i}"},
        }
        for i in range(20)
    ]
    back = {"device": "door-back", "kind": "door", "name": "后门", "tags": {"building": "zz"}}
    meta(publisher, console.config, [*rooms, back])
    root = f"{console.config['mqtt']['topic_root']}/sunshine-kg/gw-main/readings"
    now = int(time.time() * 1000)
    closed = [reading(d["device"], "door", now, open=False, locked=True) for d in rooms]
    publisher.publish(root, envelope("gw-main", 20, closed))
    with phone(browser) as (context, _requests):
        page = context.new_page()
        _log_in(page, console.api, "zhang")
        _live(page)
        summary = page.locator("#summary")
        expect(summary).to_be_visible()
        opened = [reading("door-back", "door", int(time.time() * 1000), open=True, locked=False)]
        publisher.publish(root, envelope("gw-main", 21, opened))
        item = page.locator("#summary .attention li", has_text="后门")
        expect(item).to_be_visible(timeout=5000)  # live, without a reload
        expect(summary.locator(".line")).to_contain_text("1 处门未关好")
        box = item.bounding_box()
        assert box is not None
        assert box["y"] + box["height"] <= 640, f"below the first screen: {box}"
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTEFACTS / "console-summary-360x640.png"))


@pytest.mark.parametrize(("login", "desk"), [("zhang", False), ("li", True), ("wang", False)])
def test_every_page_of_every_role_fits_its_screen(
    console: IngestProcess, browser: Browser, publisher: Publisher, login: str, desk: bool
) -> None:
    """The guard and the admin on a 360 px phone, the viewer on the duty-room PC: every page
    without sideways scrolling, each saved as a screenshot (var/artefacts)."""
    tags = {"building": "canteen", "class": "refrigerator"}
    fridge = {"device": "fridge-1", "kind": "temperature", "name": "冷藏柜 1", "tags": tags}
    meta(publisher, console.config, [fridge])
    root = f"{console.config['mqtt']['topic_root']}/sunshine-kg/gw-main/readings"
    one = [reading("fridge-1", "temperature", int(time.time() * 1000), celsius=4.5)]
    publisher.publish(root, envelope("gw-main", 30, one))
    day = time.strftime("%Y-%m-%d", time.localtime(time.time() - 86_400))
    device = "/device?site=sunshine-kg&gateway=gw-main&device=fridge-1"
    reports = ["/reports", f"/reports/cold-chain/{day}", f"/reports/daily-readings/{day}"]
    paths = ["/", "/tonight", "/history", *reports, device]
    if login == "wang":
        paths.append("/people")
    screen = "1280x800" if desk else "360x640"
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    with phone(browser, desk=desk) as (context, _requests):
        page = context.new_page()
        _log_in(page, console.api, login)
        for path in paths:
            response = page.goto(f"{console.api}{path}")
            assert response is not None
            assert response.status == 200, path
            page.wait_for_load_state("networkidle")
            wide = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            assert wide, f"{path} scrolls sideways at {screen} for {login}"
            name = path.strip("/").split("?")[0].replace("/", "-") or "board"
            page.screenshot(path=str(ARTEFACTS / f"{login}-{name}-{screen}.png"), full_page=True)


def test_the_console_asks_for_the_sound_tap_again_when_the_browser_refuses(
    console: IngestProcess, browser: Browser
) -> None:
    """The choice is remembered, a browser's leave to play is not always: after a reload
    that the browser does not let play, the page asks for the tap again."""
    with phone(browser) as (context, _requests):
        context.add_init_script(
            "localStorage.setItem('sound', 'on');"
            "HTMLMediaElement.prototype.play = function () {"
            "  return this.muted ? Promise.resolve()"
            "    : Promise.reject(new DOMException('no gesture', 'NotAllowedError')); };"
        )
        page = context.new_page()
        _log_in(page, console.api, "zhang")
        expect(page.locator("#sound-on")).to_be_visible()
