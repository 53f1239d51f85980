"""Scheduled reports: APScheduler firing, catch-up after downtime (once), delivery, links."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from apscheduler.triggers.cron import CronTrigger
from fastapi.testclient import TestClient

from ingest.api.app import create_api
from ingest.app import IngestService
from ingest.config import IngestConfig
from tests.clock import ManualClock
from tests.harness import wait_for
from tests.ingest.reports.data import TZ, local
from tests.receivers import HttpReceiver, http_receiver


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with http_receiver() as rx:
        yield rx


@pytest.fixture
def report_config(config: dict[str, Any], receiver: HttpReceiver) -> dict[str, Any]:
    config["channels"] = {
        "director": {"type": "webhook", "url": receiver.url("/director")},
        "canteen": {"type": "wecom", "url": receiver.url("/wecom")},
    }
    config["reports"] = {
        "base_url": "http://campus.example:8000",
        "weekly_usage": {"day": "mon", "at": "07:30", "notify": ["director"]},
        "cold_chain": {"at": "00:10", "notify": ["canteen"]},
    }
    return config


def _service(config: dict[str, Any], clock: ManualClock | None = None) -> IngestService:
    return IngestService(IngestConfig.model_validate(config), clock)


def _write_state(config: dict[str, Any], **last_runs: datetime) -> None:
    state = Path(config["state_dir"])
    state.mkdir(parents=True, exist_ok=True)
    doc = {name.replace("_", "-"): t.isoformat() for name, t in last_runs.items()}
    (state / "report-jobs.json").write_bytes(orjson.dumps(doc))


def test_missed_runs_are_made_up_once_after_downtime(
    report_config: dict[str, Any], receiver: HttpReceiver
) -> None:
    # Down from Sunday to Tuesday 09:00: Monday's weekly run (07:30) and the cold-chain runs
    # of Monday and Tuesday 00:10 were missed; each job runs once, for its latest time.
    _write_state(
        report_config,
        weekly_usage=local("2026-11-16 07:30"),
        cold_chain=local("2026-11-22 00:10"),
    )
    clock = ManualClock(local("2026-11-24 09:00").timestamp())
    service = _service(report_config, clock)
    service.start()
    try:
        wait_for(lambda: len(receiver.bodies()) >= 2, 20)
        weekly = next(r.body for r in receiver.requests if r.path == "/director")
        assert weekly["title"] == "用水用电周报 2026-W47"
        assert weekly["state"] == "report"
        assert weekly["period"] == "2026-W47"
        assert weekly["url"].startswith("http://campus.example:8000/api/reports/weekly-usage?")
        assert weekly["url"] in weekly["message"]
        wecom = next(r.body for r in receiver.requests if r.path == "/wecom")
        assert "冷链温度记录 2026-11-23" in orjson.dumps(wecom).decode()
        # The signed link opens that page without a token, and nothing else.
        with TestClient(create_api(service)) as api:
            path = weekly["url"].removeprefix("http://campus.example:8000")
            page = api.get(path)
            assert page.status_code == 200
            assert page.headers["content-type"].startswith("text/html")
            assert api.get(path.replace("2026-W47", "2026-W46")).status_code == 401
    finally:
        service.stop()
    assert len(receiver.requests) == 2
    again = _service(report_config, clock)
    assert again.report_jobs.missed() == []  # made up once, not again at the next start


def test_first_start_sends_nothing_for_the_past(
    report_config: dict[str, Any], receiver: HttpReceiver
) -> None:
    clock = ManualClock(local("2026-11-24 09:00").timestamp())
    service = _service(report_config, clock)
    assert service.report_jobs.missed() == []
    state = orjson.loads((Path(report_config["state_dir"]) / "report-jobs.json").read_bytes())
    assert state == {
        "weekly-usage": "2026-11-23T07:30:00+08:00",
        "cold-chain": "2026-11-24T00:10:00+08:00",
    }
    # A day later the cold-chain run of Wednesday 00:10 is due, the weekly one is not.
    clock.advance(86_400)
    assert [(j.id, t.isoformat()) for j, t in service.report_jobs.missed()] == [
        ("cold-chain", "2026-11-25T00:10:00+08:00")
    ]
    assert receiver.requests == []


def test_apscheduler_fires_the_job_and_delivers(
    report_config: dict[str, Any], receiver: HttpReceiver
) -> None:
    """A real scheduler on the real clock; the job's trigger is every 2 s instead of 00:10."""
    service = _service(report_config)
    service.report_jobs.jobs = [
        service.report_jobs.report("cold-chain", CronTrigger(second="*/2", timezone=TZ),
                                   ("director",))
    ]  # fmt: skip
    service.start()
    try:
        wait_for(receiver.bodies, 10)
    finally:
        service.stop()
    body = receiver.bodies()[0]
    yesterday = datetime.now(TZ).date() - timedelta(days=1)
    assert body["period"] == yesterday.isoformat()
    assert body["title"].startswith("冷链温度记录")
