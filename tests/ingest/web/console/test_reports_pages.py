"""The reports as console pages: in the navigation, weeks and dates the Chinese way (the
end of a week shown inclusive), money in 元, a period that is not one refused with its
page; the pages read a real influxd (an empty week is a page too)."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ingest.app import IngestService
from ingest.config import IngestConfig
from ingest.reports.pages import day_label, money, week_label
from ingest.web.app import create_api
from tests.ingest.web.console.web import PEOPLE, log_in


def test_weeks_and_dates_read_the_chinese_way() -> None:
    label = week_label("2026-W48", "2026-11-23T00:00:00+08:00", "2026-11-30T00:00:00+08:00", "zh")
    assert label == "2026年第48周（11月23日–29日）"  # the end inclusive
    across = week_label("2026-W49", "2026-11-30T00:00:00+08:00", "2026-12-07T00:00:00+08:00", "zh")
    assert across == "2026年第49周（11月30日–12月6日）"
    assert day_label("2026-11-23", "zh") == "11月23日"
    assert money(1434.123, "zh") == "1,434.12 元"


@pytest.fixture
def web(config: dict[str, Any]) -> Iterator[TestClient]:
    service = IngestService(IngestConfig.model_validate(config))
    service.start()
    service.people.add("li", *PEOPLE["li"])
    with TestClient(create_api(service)) as client:
        yield client
    service.stop()


def test_reports_are_console_pages_for_every_role(web: TestClient) -> None:
    log_in(web, "li")  # a viewer reads reports
    board = web.get("/").text
    assert '<a href="/reports">报表</a>' in board
    listing = web.get("/reports")
    assert listing.status_code == 200
    for name in ("一周一反馈", "每日抄表", "冷链记录"):
        assert name in listing.text
    week = re.search(r'href="(/reports/weekly-usage/\d{4}-W\d\d)"', listing.text)
    assert week
    page = web.get(week.group(1))
    assert page.status_code == 200
    assert re.search(r"<h1>一周一反馈 \d{4}年第\d+周（\d+月\d+日–(\d+月)?\d+日）</h1>", page.text)
    day = re.search(r'href="(/reports/cold-chain/\d{4}-\d\d-\d\d)"', listing.text)
    assert day
    cold = web.get(day.group(1))
    assert cold.status_code == 200
    assert re.search(r"<h1>冷链记录 \d+月\d+日</h1>", cold.text)
    daily = web.get(day.group(1).replace("cold-chain", "daily-readings"))
    assert re.search(r"<h1>每日抄表 \d+月\d+日</h1>", daily.text)
    older = "2026-11-02"  # not the API's default period: the link must name its own
    for name, period in _reports_of(older):  # each page links its table for Excel
        report = web.get(f"/reports/{name}/{period}")
        link = re.search(r'<a href="(/api/reports/[^"]+)">下载表格（CSV', report.text)
        assert link, report.text
        table = web.get(html.unescape(link.group(1)))  # the viewer's session is enough
        assert table.status_code == 200
        assert table.headers["content-type"].startswith("text/csv")
        assert f"{name}-{period}.csv" in table.headers["content-disposition"]
        assert table.content.startswith("\ufeff".encode())  # Excel reads it as UTF-8
        web.cookies.clear()
        assert web.get(html.unescape(link.group(1))).status_code == 401  # nobody's session
        log_in(web, "li")
    bad = web.get("/reports/weekly-usage/2026-W99")
    assert bad.status_code == 422
    assert web.get("/reports/nothing/2026-W48").status_code == 422  # not a report


def _reports_of(day: str) -> list[tuple[str, str]]:
    """Each report's name and period on the week and the day ``day``."""
    week = date.fromisoformat(day).isocalendar()
    return [
        ("weekly-usage", f"{week.year}-W{week.week:02d}"),
        ("daily-readings", day),
        ("cold-chain", day),
    ]
