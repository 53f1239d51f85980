"""Derived series follow the raw data: a gateway's backlog and a month-old import reach the
rollups, the hourly meter buckets and the weekly report within 60 s, through the real
ingest and influxd; the dirty book survives a restart."""

from __future__ import annotations

import os
import shutil
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ingest.app import IngestService
from ingest.config import IngestConfig
from ingest.reports.periods import week_of
from ingest.storage.dirty import DirtyHours, runs
from ingest.storage.influx import InfluxClient
from tests.harness import Publisher, count_points, envelope, reading, wait_for

TZ = ZoneInfo("Asia/Shanghai")
HOUR_MS = 3_600_000
STEP_MS = 300_000  # a reading every 5 minutes
KEYS = {"door": ("door",), "water": ("water", "water_usage_1h")}


def _publish(publisher: Publisher, root: str, gateway: str, readings: list[dict[str, Any]]) -> None:
    topic = f"{root}/sunshine-kg/{gateway}/readings"
    chunks = [readings[i : i + 500] for i in range(0, len(readings), 500)]
    publisher.publish_many(
        (topic, envelope(gateway, seq, chunk)) for seq, chunk in enumerate(chunks, 1)
    )


def _hour_ms(ts_ms: int) -> int:
    return ts_ms // HOUR_MS * HOUR_MS


def _sum(db: InfluxClient, query: str) -> float:
    rows = db.query(query)
    return float(rows[0]["sum"]) if rows and rows[0]["sum"] is not None else 0.0


def test_a_three_day_backlog_reaches_rollups_buckets_and_report_within_60_s(
    service: IngestService, publisher: Publisher, db: InfluxClient, config: dict[str, Any]
) -> None:
    root = config["mqtt"]["topic_root"]
    now_ms = int(time.time() * 1000)
    _publish(publisher, root, "gw-live", [reading("m-live", "electricity", now_ms, energy_kwh=1.0)])
    wait_for(lambda: count_points(db, "electricity_5m", "energy_kwh") == 1, 60)
    # The gateway comes back after three days and sends what it buffered, oldest first.
    start = _hour_ms(now_ms - 3 * 86_400_000)
    stamps = list(range(start, now_ms, STEP_MS))
    backlog = [
        reading("meter-kitchen", "electricity", ts, energy_kwh=100.0 + 0.25 * i, power_w=500.0)
        for i, ts in enumerate(stamps)
    ] + [reading("freezer-1", "temperature", ts, celsius=-19.0) for ts in stamps]
    _publish(publisher, root, "gw-kitchen", backlog)
    wait_for(lambda: count_points(db, "electricity", "energy_kwh") == len(stamps) + 1, 60)
    stored = time.monotonic()

    hours = len({_hour_ms(ts) for ts in stamps})
    where = "\"device\" = 'meter-kitchen'"
    wait_for(lambda: count_points(db, "electricity_1h", "energy_kwh") == hours + 1, 60)
    wait_for(
        lambda: (
            _sum(db, f'SELECT sum("increase") FROM "electricity_usage_1h" WHERE {where}')
            == 0.25 * (len(stamps) - 1)
        ),
        60,
    )
    wait_for(lambda: count_points(db, "temperature_1h", "celsius") == hours, 60)  # panels' series
    wait_for(lambda: service.dirty.waiting() == 0, 60)
    assert time.monotonic() - stored < 60
    assert count_points(db, "electricity_5m", "energy_kwh") == len(stamps) + 1

    week = week_of(datetime.now(TZ).date(), TZ)
    [meter] = [
        m for m in service.reports.usage.weekly(week.label).meters if m.device == "meter-kitchen"
    ]
    in_week = [i for i, ts in enumerate(stamps) if ts >= week.start_s * 1000 and i > 0]
    assert meter.consumption == round(0.25 * len(in_week), 3)


def test_a_month_old_import_fills_the_gap_and_the_hour_after_it(
    service: IngestService, publisher: Publisher, db: InfluxClient, config: dict[str, Any]
) -> None:
    root = config["mqtt"]["topic_root"]
    now_ms = int(time.time() * 1000)
    before_ms = _hour_ms(now_ms - 32 * 86_400_000)
    _publish(
        publisher,
        root,
        "gw-water",
        [
            reading("water-main", "water", before_ms, volume_m3=100.0),
            reading("water-main", "water", now_ms - 60_000, volume_m3=200.0),
        ],
    )
    where = "\"device\" = 'water-main'"
    last_hour = f"{where} AND time >= {_hour_ms(now_ms - 60_000)}ms"
    # Across the gap, the whole 100 m³ counts in the hour of the later reading.
    wait_for(
        lambda: (
            _sum(db, f'SELECT sum("increase") FROM "water_usage_1h" WHERE {last_hour}') == 100.0
        ),
        60,
    )

    day_ms = _hour_ms(now_ms - 30 * 86_400_000)  # the month-old readings, imported now
    imported = [
        reading("water-main", "water", day_ms + i * HOUR_MS, volume_m3=110.0 + 10 * i)
        for i in range(5)
    ]  # 110 ... 150
    topic = f"{root}/sunshine-kg/gw-water/readings"
    publisher.publish(topic, envelope("gw-water", 2, imported))
    wait_for(lambda: count_points(db, "water", "volume_m3") == 7, 30)
    stored = time.monotonic()
    # 200 - 150: the import changed the hour after the gap.
    query = f'SELECT sum("increase") FROM "water_usage_1h" WHERE {last_hour}'
    wait_for(lambda: _sum(db, query) == 50.0, 60)
    old = f"{where} AND time >= {day_ms}ms AND time < {day_ms + 5 * HOUR_MS}ms"
    assert _sum(db, f'SELECT sum("increase") FROM "water_usage_1h" WHERE {old}') == 50.0
    wait_for(lambda: count_points(db, "water_1h", "volume_m3") == 7, 60)
    assert time.monotonic() - stored < 60
    assert _sum(db, f'SELECT sum("increase") FROM "water_usage_1h" WHERE {where}') == 100.0


def test_a_report_asked_for_before_the_rollups_ran_counts_the_backlog(
    service: IngestService, publisher: Publisher, db: InfluxClient, config: dict[str, Any]
) -> None:
    service.rollups.stop()  # the job is busy (or was killed): the report cannot wait for it
    root = config["mqtt"]["topic_root"]
    now_ms = int(time.time() * 1000)
    stamps = list(range(_hour_ms(now_ms - 2 * 86_400_000), now_ms, STEP_MS))
    _publish(
        publisher,
        root,
        "gw-late",
        [
            reading("meter-late", "electricity", ts, energy_kwh=10.0 + i)
            for i, ts in enumerate(stamps)
        ],
    )
    wait_for(lambda: count_points(db, "electricity", "energy_kwh") == len(stamps), 60)
    assert count_points(db, "electricity_usage_1h", "increase") == 0
    # Yesterday: never within the last two hours that any report recomputes anyway.
    yesterday = (datetime.now(TZ) - timedelta(days=1)).date().isoformat()
    [meter] = service.reports.usage.daily(yesterday).meters
    assert meter.consumption == float(
        sum(
            1
            for i, ts in enumerate(stamps)
            if i > 0 and datetime.fromtimestamp(ts / 1000, TZ).date().isoformat() == yesterday
        )
    )
    assert meter.consumption > 0
    today = datetime.now(TZ).replace(hour=0, minute=0, second=0, microsecond=0)
    # What the report recomputed is done: neither the job nor the next report repeats it.
    assert service.dirty.runs_within("electricity_usage_1h", 0, int(today.timestamp())).runs == {}


def test_the_book_survives_a_restart_and_marks_only_what_was_recomputed(tmp_path: Path) -> None:
    path = tmp_path / "dirty-hours.json"
    book = DirtyHours(path, KEYS)
    assert not book.existed
    book.track(
        [
            b"door,device=d1,site=s open=1i 7200000\ndoor,device=d2,site=s open=0i 10799999",
            b"water,device=w1,site=s volume_m3=1.0 36000000",
            b"smoke,device=s1,site=s smoke=1i 7200000",  # no derived series: not booked
        ]
    )
    taken = book.take()
    assert taken.runs == {
        "door": [(7200, 10800)],
        "water": [(36000, 39600)],
        "water_usage_1h": [(36000, 39600)],
    }
    # A batch stored while the door hours are recomputed books 02:00 again and 03:00.
    book.track([b"door,device=d1,site=s open=1i 7300000\ndoor,device=d1,site=s open=1i 10800000"])
    book.done("door", (7200, 10800), taken.generation)
    book.done("water", (36000, 39600), taken.generation)
    assert book.take().runs == {"door": [(7200, 14400)], "water_usage_1h": [(36000, 39600)]}
    # A crash now: the next start has what is not done (as not-yet-recomputed).
    again = DirtyHours(path, KEYS)
    assert again.existed
    assert again.take().runs == book.take().runs
    within = again.runs_within("water_usage_1h", 0, 36001)
    again.done("water_usage_1h", within.runs["water_usage_1h"][0], within.generation)
    assert again.runs_within("water_usage_1h", 0, 36001).runs == {}
    assert again.runs_within("door", 10800, 20000).runs == {"door": [(10800, 14400)]}
    # A book of the first version (raw names, pending and taking) books under the keys.
    path.write_bytes(b'{"pending": {"water": [10]}, "taking": {"door": [2]}}')
    old = DirtyHours(path, KEYS).take().runs
    assert old == {
        "water": [(36000, 39600)],
        "water_usage_1h": [(36000, 39600)],
        "door": [(7200, 10800)],
    }
    # campus-ingest report reads the service's book but never writes its copy back.
    reader = DirtyHours(path, KEYS, writable=False)
    reader.done("door", (7200, 10800), reader.take().generation)
    assert DirtyHours(path, KEYS).take().runs == old
    assert runs([5, 3, 4, 9]) == [(10800, 21600), (32400, 36000)]
    # A damaged book: hours that are no hours are left out, the rest kept.
    path.write_bytes(b'{"hours": {"door": [2, -5, 10000000000, "3", true], "water": 7}}')
    assert DirtyHours(path, KEYS).take().runs == {"door": [(7200, 10800)]}


def test_a_book_that_cannot_be_saved_keeps_the_batch_from_being_committed(
    tmp_path: Path,
) -> None:
    """A full disk: the save fails, the writer retries the batch, and the retry saves."""
    state = tmp_path / "state"
    state.mkdir()
    book = DirtyHours(state / "dirty-hours.json", KEYS)
    state.chmod(0o500)  # no new files: the atomic write fails as on a full disk
    blocker = state / "dirty-hours.json"
    try:
        if os.geteuid() == 0:  # root writes anyway: a folder in the file's place instead
            state.chmod(0o700)
            blocker.mkdir()
            (blocker / "x").touch()
        with pytest.raises((PermissionError, IsADirectoryError)):
            book.track([b"door,device=d1,site=s open=1i 7200000"])
    finally:
        state.chmod(0o700)
        if blocker.is_dir():
            shutil.rmtree(blocker)
    book.track([b"door,device=d1,site=s open=1i 7200000"])  # the same batch, written again
    assert DirtyHours(state / "dirty-hours.json", KEYS).take().runs == {"door": [(7200, 10800)]}


def test_a_damaged_book_is_logged_and_the_service_still_starts(
    config: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    state = Path(config["state_dir"])
    state.mkdir(parents=True)
    (state / "dirty-hours.json").write_bytes(b"{not json")
    service = IngestService(IngestConfig.model_validate(config))
    service.start()
    try:
        assert service.wait_ready()
        assert not service.dirty.existed  # started with an empty book, and it runs
    finally:
        service.stop()
    assert "dirty-hours.json" in caplog.text
    assert "booked again from the last days" in caplog.text


def test_an_upgrade_without_a_book_recomputes_the_last_days(
    config: dict[str, Any], publisher: Publisher, db: InfluxClient
) -> None:
    """A version before the book left readings of the last hours out of the rollups: the
    first start without a book recomputes the last 8 days of every derived series."""
    root = config["mqtt"]["topic_root"]
    now_ms = int(time.time() * 1000)
    first = IngestService(IngestConfig.model_validate(config))
    first.start()
    try:
        assert first.wait_ready()
        _publish(publisher, root, "gw-up", [reading("d1", "door", now_ms - 7_200_000, open=True)])
        wait_for(lambda: count_points(db, "door_1h", "open") == 1, 60)
    finally:
        first.stop()
    # What the old version stored last and had not rolled up yet:
    db.write(f"door,device=d2,gateway=gw-up,site=sunshine-kg open=0i {now_ms - 3_600_000}".encode())
    (Path(config["state_dir"]) / "dirty-hours.json").unlink()
    second = IngestService(IngestConfig.model_validate(config))
    second.start()
    try:
        wait_for(lambda: count_points(db, "door_1h", "open") == 2, 60)
    finally:
        second.stop()


def test_a_live_hour_is_recomputed_from_where_it_changed(tmp_path: Path) -> None:
    path = tmp_path / "dirty-hours.json"
    book = DirtyHours(path, KEYS)
    hour = 7200
    book.book([("door", (hour + 3000) // 300), ("door", (hour + 3300) // 300)])
    taken = book.take()
    assert taken.runs == {"door": [(hour + 3000, hour + 3600)]}
    book.book([("door", (hour + 3400) // 300)])  # the next readings, while it recomputes
    book.done("door", taken.runs["door"][0], taken.generation)
    assert book.take().runs == {"door": [(hour + 3300, hour + 3600)]}  # only what is new
    book.book([("door", (hour + 3600) // 300)])  # the next hour: the run goes on, whole
    assert book.take().runs == {"door": [(hour + 3300, hour + 7200)]}
    book.book([("door", hour // 300)])  # a late reading at the start of the hour
    assert book.take().runs == {"door": [(hour, hour + 7200)]}
    book.add({"door": [hour // 3600]})
    again = DirtyHours(path, KEYS)  # read back after a restart: whole hours, even when
    again.book([("door", (hour + 3300) // 300)])  # the live hour goes on
    assert again.take().runs == {"door": [(hour, hour + 7200)]}
    # Many bookings between two recomputes are merged, as early as all of them.
    for minute in range(200):
        book.book([("water", (36000 + 300 + minute) // 300)])
    assert book.take().runs["water"] == [(36300, 39600)]
