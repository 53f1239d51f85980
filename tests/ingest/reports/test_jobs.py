"""Scheduled reports: APScheduler firing, catch-up after downtime (once), delivery, links."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from apscheduler.triggers.cron import CronTrigger
from fastapi.testclient import TestClient

from campuswatch.protocol import DeviceInfo
from demo.services import InfluxServer, free_port
from ingest.app import IngestService
from ingest.config import IngestConfig
from ingest.storage.influx import InfluxClient
from ingest.web.app import create_api
from tests.clock import ManualClock
from tests.harness import wait_for
from tests.ingest.reports.data import TZ, announce, counter, every, local, write
from tests.receivers import HttpReceiver, http_receiver

FIVE_MIN = timedelta(minutes=5)


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
    # Monday's fridge, every 5 minutes: the cold-chain message carries its chart.
    db = InfluxClient(report_config["influx"]["url"], report_config["influx"]["database"])
    db.create_database()
    fridge = [
        (t, 4.0) for t in every(local("2026-11-23 00:00"), local("2026-11-24 00:00"), FIVE_MIN)
    ]
    write(db, "temperature", "fridge-cold-1", "celsius", fridge, {"class": "refrigerator"})
    clock = ManualClock(local("2026-11-24 09:00").timestamp())
    service = _service(report_config, clock)
    info = DeviceInfo(device="fridge-cold-1", kind="temperature", interval_s=300)
    announce(service.registry, [info.model_copy(update={"tags": {"class": "refrigerator"}})])
    service.start()
    try:
        wait_for(lambda: len(receiver.bodies()) >= 2, 20)
        weekly = next(r.body for r in receiver.requests if r.path == "/director")
        assert weekly["title"] == "一周一反馈 2026年第47周（11月16日–22日）"
        assert weekly["state"] == "report"
        assert weekly["period"] == "2026-W47"
        assert weekly["url"].startswith("http://campus.example:8000/api/reports/weekly-usage?")
        assert weekly["url"] in weekly["message"]
        wecom = next(r.body for r in receiver.requests if r.path == "/wecom")
        assert "冷链记录 11月23日" in orjson.dumps(wecom).decode()
        # Then the day's chart as a WeCom image message: a PNG with its MD5.
        chart = wait_for(
            lambda: next(
                (r.body["image"] for r in receiver.requests if r.body.get("msgtype") == "image"),
                None,
            ),
            20,
        )
        png = base64.b64decode(chart["base64"])
        assert png.startswith(b"\x89PNG")
        assert chart["md5"] == hashlib.md5(png).hexdigest()
        assert "html" not in weekly  # the webhook gets the SPEC body, not the page
        # The signed link opens that page without a token, and nothing else.
        with TestClient(create_api(service)) as api:
            path = weekly["url"].removeprefix("http://campus.example:8000")
            page = api.get(path)
            assert page.status_code == 200
            assert page.headers["content-type"].startswith("text/html")
            assert api.get(path.replace("2026-W47", "2026-W46")).status_code == 401
    finally:
        service.stop()
        db.close()
    assert len(receiver.requests) == 3  # the weekly report, the cold-chain log and its chart
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
        service.report_jobs.report(
            "cold-chain", CronTrigger(second="*/2", timezone=TZ), ("director",)
        )
    ]
    service.start()
    try:
        wait_for(receiver.bodies, 10)
    finally:
        service.stop()
    body = receiver.bodies()[0]
    yesterday = datetime.now(TZ).date() - timedelta(days=1)
    assert body["period"] == yesterday.isoformat()
    assert body["title"].startswith("冷链记录")


def _problems(service: IngestService) -> list[str]:
    return [p for p in service.problems.current() if p.startswith("job ")]


def test_a_failed_monday_run_is_retried_until_it_is_sent(
    report_config: dict[str, Any], receiver: HttpReceiver, tmp_path: Path
) -> None:
    """InfluxDB is down at 07:30 on Monday: the run fails, is a health problem, is tried
    again with backoff on the manual clock, and is sent once InfluxDB is back; the report
    asked for by hand answers 503 during the outage and the report after it."""
    influxd = InfluxServer(tmp_path / "influxd")
    influxd.start()
    report_config["influx"]["url"] = influxd.url
    report_config["reports"]["cold_chain"]["enabled"] = False
    _write_state(report_config, weekly_usage=local("2026-11-16 07:30"))
    client = InfluxClient(influxd.url, report_config["influx"]["database"])
    client.create_database()
    client.close()
    influxd.stop()
    clock = ManualClock(local("2026-11-23 07:30:05").timestamp())
    service = _service(report_config, clock)
    service.start()  # the Monday run is due: made up at once, and it fails
    try:
        wait_for(lambda: "weekly-usage" in service.report_jobs.retries, 20)
        [problem] = _problems(service)
        assert "the run due 2026-11-23 07:30 failed" in problem
        assert service.health()["status"] == "degraded"
        with TestClient(create_api(service)) as api:
            asked = api.get(
                "/api/reports/weekly-usage?week=2026-W47",
                headers={"Authorization": "Bearer viewer-token-1"},
            )
            assert asked.status_code == 503
            retry = service.report_jobs.retries["weekly-usage"]
            assert 30 <= retry.at - clock.time() <= 60  # the first retry after 30-60 s
            clock.advance(25)
            service.report_jobs.retry_due()  # not yet
            assert service.report_jobs.retries["weekly-usage"].backoff.failures == 1
            clock.advance(40)
            service.report_jobs.retry_due()  # InfluxDB still down: the next wait is longer
            retry = service.report_jobs.retries["weekly-usage"]
            assert retry.backoff.failures == 2
            assert 60 <= retry.at - clock.time() <= 120
            influxd.start()
            clock.advance(120)
            service.report_jobs.retry_due()
            wait_for(receiver.bodies, 20)
            asked = api.get(
                "/api/reports/weekly-usage?week=2026-W47",
                headers={"Authorization": "Bearer viewer-token-1"},
            )
            assert asked.status_code == 200
        [body] = receiver.bodies()
        assert body["period"] == "2026-W47"
        assert service.report_jobs.retries == {}
        assert _problems(service) == []
        state = orjson.loads((Path(report_config["state_dir"]) / "report-jobs.json").read_bytes())
        assert state["weekly-usage"] == "2026-11-23T07:30:00+08:00"
    finally:
        service.stop()
        influxd.stop()


def test_a_run_that_fails_all_day_is_given_up_and_stays_a_problem(
    report_config: dict[str, Any], receiver: HttpReceiver
) -> None:
    """Back on Wednesday after a long weekend: Monday's weekly run is made up and fails;
    it is retried all Wednesday (not given up for being Monday's), then given up."""
    report_config["influx"]["url"] = f"http://127.0.0.1:{free_port()}"  # nothing listens
    report_config["reports"]["cold_chain"]["enabled"] = False
    _write_state(report_config, weekly_usage=local("2026-11-16 07:30"))
    clock = ManualClock(local("2026-11-25 23:50").timestamp())
    service = _service(report_config, clock)
    service.start()
    try:
        wait_for(lambda: "weekly-usage" in service.report_jobs.retries, 20)
        clock.advance(90)
        service.report_jobs.retry_due()  # Wednesday still: tried again, fails again
        assert service.report_jobs.retries["weekly-usage"].backoff.failures == 2
        clock.advance(600)  # past midnight: given up
        service.report_jobs.retry_due()
        assert service.report_jobs.retries == {}
        [problem] = _problems(service)
        assert (
            "the run due 2026-11-23 07:30 failed until the end of the day and was not sent"
            in problem
        )
        assert service.health()["status"] == "degraded"
        assert receiver.requests == []
    finally:
        service.stop()


def test_the_daily_readings_are_delivered_once_after_downtime(
    report_config: dict[str, Any], receiver: HttpReceiver
) -> None:
    report_config["reports"]["daily_readings"] = {"at": "00:20", "notify": ["canteen"]}
    report_config["reports"]["cold_chain"]["enabled"] = False
    report_config["reports"]["weekly_usage"]["enabled"] = False
    _write_state(report_config, daily_readings=local("2026-11-21 00:20"))
    db = InfluxClient(report_config["influx"]["url"], report_config["influx"]["database"])
    db.create_database()
    hours = list(every(local("2026-11-22 23:00"), local("2026-11-24 00:00"), timedelta(hours=1)))
    for device, use in (("meter-main", 10.0), ("meter-kitchen", 4.0), ("meter-gym", 1.0)):
        tags = {"parent": "meter-main"} if device == "meter-kitchen" else {}
        write(
            db, "electricity", device, "energy_kwh", counter(iter(hours), lambda _t, u=use: u), tags
        )
    write(db, "water", "water-main", "volume_m3", [(local("2026-11-22 12:00"), 5.0)])  # silent
    clock = ManualClock(local("2026-11-24 09:00").timestamp())
    service = _service(report_config, clock)
    start = int(local("2026-11-22 00:00").timestamp())
    service.rollups.meter_hours.refresh(start, start + 3 * 86_400)
    announce(service.registry, [DeviceInfo(device="water-main", kind="water", interval_s=3600)])
    service.registry.save()  # as the gateway's meta left it
    service.start()  # missed 00:20 on Monday and Tuesday: sent once, for Monday 11-23
    try:
        wait_for(receiver.bodies, 20)
    finally:
        service.stop()
        db.close()
    [body] = receiver.bodies()
    text = orjson.dumps(body).decode()
    assert "每日抄表 11月23日" in text
    assert "用电 264 kWh" in text  # meter-main 240 + meter-gym 24; the kitchen is behind main
    assert "· meter-main 240 kWh" in text
    assert "· water-main：当日没有收到读数" in text
