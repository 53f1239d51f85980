"""An hour that is not over gets its 1-hour rollup from its 5-minute ones; once over, from
the raw points, once: the book keeps it aside until then, across a restart. Against a real
influxd, on a clock the test moves."""

from __future__ import annotations

from pathlib import Path

from ingest.storage.dirty import DirtyHours
from ingest.storage.influx import InfluxClient
from ingest.storage.rollups import RollupJob, derived_keys
from tests.clock import ManualClock

HOUR = 1_795_456_800  # 2026-11-24 14:00 UTC
KEYS = {"door": ("door",)}


def test_open_hours_are_kept_aside_until_over_and_then_booked_whole(tmp_path: Path) -> None:
    path = tmp_path / "dirty-hours.json"
    book = DirtyHours(path, KEYS)
    book.book([("door", (HOUR + 600) // 300)])
    taken = book.take(HOUR + 620)
    assert taken.runs == {"door": [(HOUR + 600, HOUR + 3600)]}
    book.when_over("door", [HOUR // 3600, HOUR // 3600 + 1])  # a clock ahead: the next too
    book.done("door", taken.runs["door"][0], taken.generation)
    assert book.take(HOUR + 3599).runs == {}
    assert book.waiting() == 0  # not work waiting: the watchdog does not count it
    again = DirtyHours(path, KEYS)  # a restart keeps them aside
    for kept in (book, again):
        assert kept.take(HOUR + 3600).runs == {"door": [(HOUR, HOUR + 3600)]}  # whole
        assert kept.take(HOUR + 7200).runs == {"door": [(HOUR, HOUR + 7200)]}
    assert DirtyHours(path, KEYS).take(HOUR + 7200).runs == {"door": [(HOUR, HOUR + 7200)]}
    path.write_bytes(b'{"hours": {}, "later": {"door": [-1, "x", 498738]}}')  # damaged
    assert DirtyHours(path, KEYS).take(HOUR + 7200).runs == {"door": [(HOUR, HOUR + 3600)]}


def _celsius_1h(db: InfluxClient) -> dict[str, float]:
    [row] = db.query('SELECT "celsius", "celsius_max", "celsius_min" FROM "temperature_1h"')
    return {k: float(v) for k, v in row.items() if k != "time"}


def test_an_open_hour_is_made_from_its_five_minute_buckets_then_from_the_raw_points(
    tmp_path: Path, db: InfluxClient
) -> None:
    db.create_database()
    # 2 °C once in the first five minutes, 8 °C three times in the next: the mean of the
    # 5-minute means (5) is not the hour's mean (6.5), so each source shows.
    stamps = [(0, 2.0), (300, 8.0), (400, 8.0), (500, 8.0)]
    db.write(
        "\n".join(
            f"temperature,device=fridge-1,gateway=gw,site=s celsius={c} {(HOUR + t) * 1000}"
            for t, c in stamps
        ).encode()
    )
    clock = ManualClock(HOUR + 620)
    book = DirtyHours(tmp_path / "dirty-hours.json", derived_keys())
    job = RollupJob(db, clock, "Asia/Shanghai", book)
    book.book([("temperature", (HOUR + t) // 300) for t, _c in stamps])
    assert job.recompute(book.take(clock.time())) == []
    assert _celsius_1h(db) == {"celsius": 5.0, "celsius_max": 8.0, "celsius_min": 2.0}

    clock.advance(2900)  # a reading later in the hour: the bucket follows
    db.write(
        f"temperature,device=fridge-1,gateway=gw,site=s celsius=9.0 {(HOUR + 3500) * 1000}".encode()
    )
    book.book([("temperature", (HOUR + 3500) // 300)])
    taken = book.take(clock.time())
    assert taken.runs == {"temperature": [(HOUR + 3300, HOUR + 3600)]}
    assert job.recompute(taken) == []
    assert _celsius_1h(db) == {"celsius": 19 / 3, "celsius_max": 9.0, "celsius_min": 2.0}

    clock.advance(100)  # over: booked whole, from the raw points
    taken = book.take(clock.time())
    assert taken.runs == {"temperature": [(HOUR, HOUR + 3600)]}
    assert job.recompute(taken) == []
    assert _celsius_1h(db) == {"celsius": 7.0, "celsius_max": 9.0, "celsius_min": 2.0}
    assert book.take(clock.time() + 86_400).runs == {}
