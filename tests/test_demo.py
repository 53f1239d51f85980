"""``campus-ingest demo`` (what ``make demo`` runs) starts everything and shows data."""

from __future__ import annotations

import html
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
import yaml
from playwright.sync_api import expect

from campuswatch.clock import SystemClock
from demo.run import _add_people
from demo.services import free_port
from ingest.config.console import ConsoleConfig
from ingest.people.store import PeopleStore
from tests.harness import wait_for
from tests.ingest.web.console.browser import chromium, phone
from tests.ingest.web.console.browser import log_in as chromium_log_in
from tests.ingest.web.console.web import csrf_of, log_in

ARTEFACTS = Path(__file__).resolve().parents[1] / "var" / "artefacts"


def _wait_line(lines: list[str], pattern: str, timeout: float) -> re.Match[str]:
    match: re.Match[str] = wait_for(lambda: re.search(pattern, "".join(lines)), timeout)
    return match


def _use_the_console(lines: list[str]) -> None:
    """While the demo runs: log in as the printed guard, see an alert on the board, and
    acknowledge another through the ack link printed with its notification."""
    console = _wait_line(lines, r"console +(http://\S+)/", 90).group(1)
    login, password = _wait_line(lines, r"login (guard) +password (\S+)", 5).groups()
    # The fridge's alert (the others are checked as firing below).
    notified = r"NOTIFY +温度超限[^\n]*\n +acknowledge from a phone: (http://\S+)"
    link = _wait_line(lines, notified, 60).group(1)
    admin = _wait_line(lines, r"login admin +password (\S+)", 5).group(1)
    with httpx.Client(base_url=console, timeout=10) as browser:
        assert log_in(browser, "admin", admin).status_code == 303
        checkpoint = re.search(
            r'(/duty/checkpoints/[\w-]+\?sig=[^"<\s]+)', browser.get("/duty/checkpoints").text
        )
        assert checkpoint
        _shoot_the_guides_pages(console, login, password, link, html.unescape(checkpoint.group(1)))
        assert log_in(browser, login, password).status_code == 303
        board = browser.get("/").text
        assert "待处理告警" in board
        assert "值班：值班 张师傅" in board  # the demo put its guard on today's shifts
        assert browser.get("/duty/rounds").status_code == 200
        assert 'class="alert sev-' in board
        page = browser.get(link)
        assert page.status_code == 200
        done = browser.post(link, data={"csrf": csrf_of(page.text), "note": "演示确认"})
        assert done.status_code == 200
        assert "已确认" in done.text
        # Last week's report as a console page: the seeded leak hinted before the table.
        listing = browser.get("/reports").text
        week = re.search(r'href="(/reports/weekly-usage/[^"]+)"', listing)
        assert week
        weekly = browser.get(week.group(1), timeout=60).text
        assert "总水表" in weekly
        assert weekly.index("疑似漏水") < weekly.index("<table")
        assert " 元" in weekly
        assert "data:image/png;base64," in weekly
        _look_at_the_weekly_report(console, login, password, week.group(1))
        # 食堂电表 is behind 总电表 (its parent tag): the total counts the main meter once.
        shown = week.group(1).rsplit("/", 1)[1]  # the week the page showed (last week)
        usage = browser.get("/api/reports/weekly-usage", params={"week": shown}, timeout=60).json()
        meters = {m["device"]: m for m in usage["meters"]}
        main, canteen = meters["meter-main"], meters["meter-canteen"]
        assert canteen["parent"] == "meter-main"
        assert main["consumption"] > canteen["consumption"] > 0
        assert usage["totals"]["electricity_kwh"] == pytest.approx(main["consumption"])
        assert main["sub_meters"] == pytest.approx(canteen["consumption"])


def _shoot_the_guides_pages(
    console: str, login: str, password: str, ack_link: str, checkpoint: str
) -> None:
    """The pages the guides show, as the demo's guard sees them on a 360 px phone
    (``make screenshots`` copies them into docs/img): the board with its alerts, an ack
    link opened from a chat message (before anyone used it), a checkpoint's page."""
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    with chromium() as browser, phone(browser) as (context, _requests):
        page = context.new_page()
        page.goto(ack_link)  # from a chat message: no login needed, nothing changes
        expect(page.get_by_role("button", name="确认收到，我来处理")).to_be_visible()
        page.screenshot(path=str(ARTEFACTS / "demo-ack-link-360x640.png"))
        chromium_log_in(page, console, login, password)
        expect(page.locator(".alert").first).to_be_visible()
        page.screenshot(path=str(ARTEFACTS / "demo-board-360x640.png"))
        page.goto(f"{console}{checkpoint}")  # a scan: the page records nothing until tapped
        expect(page.get_by_role("button", name="已到此处，记录巡查")).to_be_visible()
        page.screenshot(path=str(ARTEFACTS / "demo-checkpoint-360x640.png"))


def _look_at_the_weekly_report(console: str, login: str, password: str, path: str) -> None:
    """The weekly report with weeks of data, in Chromium on a 360 px phone: the console's
    page and the page its message links to, neither scrolling sideways (screenshots in
    var/artefacts for the docs)."""
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    with chromium() as browser, phone(browser) as (context, _requests):
        page = context.new_page()
        chromium_log_in(page, console, login, password)
        week = path.rsplit("/", 1)[1]
        message = f"/api/reports/weekly-usage?week={week}&format=html"
        for url, name in ((path, "console"), (message, "message")):
            response = page.goto(f"{console}{url}", timeout=60_000)
            assert response is not None
            assert response.status == 200, url
            expect(page.locator("h1")).to_contain_text("一周一反馈")
            wide = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            assert wide, f"{url} scrolls sideways on a 360 px phone"
            shot = ARTEFACTS / f"demo-weekly-{name}-360x640.png"
            page.screenshot(path=str(shot), full_page=True)


def test_demo_runs_stores_readings_and_stops_cleanly(tmp_path: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "ingest.cli",
        "demo",
        "--dir",
        str(tmp_path),
        "--duration",
        "150",  # a bound: the test stops it with Ctrl-C once it has seen what it needs
        "--port",
        str(free_port()),
    ]
    # A session of its own, as a terminal's foreground group: Ctrl-C goes to all of it.
    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)

    reader = threading.Thread(target=read)
    reader.start()
    stop_s = None
    try:
        _use_the_console(lines)
        for scenario in (
            r"ALERT #\d+ 门未(关闭|上锁): 后门 \(firing\)",
            r"ALERT #\d+ 门口有人: 大门摄像头 \(firing\)",
            r"(\d+)/\1 devices online",
        ):
            _wait_line(lines, scenario, 120)
        pressed = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C
        proc.wait(60)
        stop_s = time.monotonic() - pressed
    finally:
        stderr = proc.communicate(timeout=120)[1]
        reader.join()
    result = subprocess.CompletedProcess(command, proc.returncode, "".join(lines), stderr)
    assert result.returncode == 0, result.stderr[-3000:]
    assert stop_s is not None
    assert stop_s < 20, f"the demo took {stop_s:.0f} s to stop after Ctrl-C"
    assert "token:" in result.stdout
    assert "deploy/grafana/provisioning" in result.stdout  # no Grafana here: where to look
    counts = [int(n) for n in re.findall(r"(\d+) points stored", result.stdout)]
    assert counts
    assert counts[-1] > 0
    assert re.search(r"(\d+)/\1 devices online", result.stdout)
    assert "stopping" in result.stderr
    # The scenario's alerts appear: room 101's back door and the canteen fridge.
    assert re.search(r"ALERT #\d+ 门未(关闭|上锁): 后门 \(firing\)", result.stdout), result.stdout
    # (the fridge's alert was acknowledged through its link above)
    assert re.search(r"NOTIFY +温度超限: 温度超限：食堂 厨房 冷藏柜 1", result.stdout)
    # The gate camera (OpenCV on a drawn video) saw someone walk past: alert and snapshot.
    assert re.search(r"ALERT #\d+ 门口有人: 大门摄像头 \(firing\)", result.stdout), result.stdout
    snapshots = list((tmp_path / "ingest" / "snapshots").glob("*/*.jpg"))
    assert snapshots, "the gate camera's snapshot reached the server"
    # Weeks of history were seeded, so the reports already tell something.
    assert "points of simulated history (6 weeks)" in result.stdout
    weekly = (tmp_path / "reports" / "weekly-usage.html").read_text()
    assert "总水表" in weekly
    assert "疑似漏水" in weekly  # the seeded leak
    assert "data:image/png;base64," in weekly
    cold = (tmp_path / "reports" / "cold-chain.html").read_text()
    assert "冷藏柜 1" in cold
    assert (tmp_path / "reports" / "daily-readings.html").exists()
    # The readings came through real gateway processes, which stopped cleanly.
    for gateway in ("gw-gate", "gw-canteen", "gw-main"):
        log = (tmp_path / "gateways" / f"{gateway}.log").read_text()
        assert "uplink connected" in log
        assert re.search(r"stopped: \d+ reading\(s\) read, 0 waiting in the buffer", log), log


def test_the_demo_people_get_fresh_passwords_when_the_demo_runs_again(tmp_path: Path) -> None:
    config = tmp_path / "ingest.yaml"
    config.write_text(yaml.safe_dump({"site": {"id": "s1"}, "state_dir": str(tmp_path / "s")}))
    _add_people(config)
    again = _add_people(config)  # the same demo directory: the logins exist
    store = PeopleStore(tmp_path / "s" / "people.db", ConsoleConfig(), SystemClock())
    store.open()
    try:
        for login, _name, password in again:
            assert store.log_in(login, password).person.login == login
    finally:
        store.close()
