"""The first computation of the derived series, stopped half-way, goes on where it got to
at the next start (before, the series was no longer empty and was taken for complete);
against a real influxd. Damaged marks are logged and left out."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from demo.services import InfluxServer
from ingest.storage.backfill import BackfillMarks
from ingest.storage.dirty import DirtyHours
from ingest.storage.influx import InfluxClient
from ingest.storage.rollups import RollupJob, derived_keys
from tests.clock import ManualClock
from tests.harness import count_points

DAY = 86_400
DAY0 = 1_795_456_800 // DAY * DAY  # 2026-11-23 00:00 UTC
HOURS = 72


class StopsItsJob(InfluxClient):
    """A real client that stops its job after a number of writes, as a restart would."""

    job: RollupJob | None = None
    writes_left = 0

    def write(self, body: bytes) -> None:
        super().write(body)
        self.writes_left -= 1
        if self.job is not None and self.writes_left == 0:
            self.job.stop()


def _job(client: InfluxClient, tmp_path: Path) -> RollupJob:
    clock = ManualClock(DAY0 + 3 * DAY + 600)
    book = DirtyHours(tmp_path / "dirty-hours.json", derived_keys())
    return RollupJob(client, clock, "Asia/Shanghai", book, marks=BackfillMarks(tmp_path / "bf"))


def _fill_three_days(db: InfluxClient) -> None:
    db.create_database()
    db.write(
        "\n".join(
            f"door,device=d1,gateway=gw,site=s open=1i {(DAY0 + h * 3600 + 600) * 1000}\n"
            f"electricity,device=m1,gateway=gw,site=s energy_kwh={100 + h}.0,power_w=5.0"
            f" {(DAY0 + h * 3600 + 600) * 1000}"
            for h in range(HOURS)
        ).encode()
    )


def _assert_complete(db: InfluxClient) -> None:
    for series in ("door_5m", "door_1h", "electricity_5m", "electricity_1h"):
        assert count_points(db, series, "power_w" if "elec" in series else "open") == HOURS
    [total] = db.query('SELECT sum("increase") FROM "electricity_usage_1h"')
    assert total["sum"] == HOURS - 1  # every hour's use, none counted twice or left out


# Each series with data writes a day at a time (3 days): door_5m, door_1h,
# electricity_5m, electricity_1h, then electricity_usage_1h, 15 writes in all. The day
# a stop came in is done again (the stop may have cut its queries short).
@pytest.mark.parametrize(
    ("writes", "marked", "seeded"),
    [
        (1, {"door_5m": DAY0}, {"door"}),
        (8, {"electricity_5m": DAY0 + DAY}, {"door", "electricity"}),
        (14, {"electricity_usage_1h": DAY0 + DAY}, {"door", "electricity", "electricity_usage_1h"}),
    ],
    ids=["first-series", "mid-rollups", "mid-meter-use"],
)
def test_a_stopped_backfill_goes_on_where_it_got_to(
    tmp_path: Path,
    db: InfluxClient,
    influxd: InfluxServer,
    writes: int,
    marked: dict[str, int],
    seeded: set[str],
) -> None:
    _fill_three_days(db)
    stopping = StopsItsJob(influxd.url, db.database)
    stopping.writes_left = writes
    stopping.job = _job(stopping, tmp_path)
    stopping.job.backfill()
    assert orjson.loads((tmp_path / "bf").read_bytes()) == marked  # none begun after it

    second = _job(db, tmp_path)  # the next start
    second.backfill()
    _assert_complete(db)
    assert orjson.loads((tmp_path / "bf").read_bytes()) == {}  # all reached the present
    # Without its book (never saved here), the series that were not computed whole, the
    # one that went on from its mark too, get their last days booked, as on an upgrade.
    assert set(second.dirty.take().runs) == seeded


def test_a_mark_of_a_series_emptied_since_starts_it_again_from_the_oldest_day(
    tmp_path: Path, db: InfluxClient
) -> None:
    """A measurement dropped to have it computed again, with the marks file kept."""
    _fill_three_days(db)
    (tmp_path / "bf").write_bytes(orjson.dumps({"door_5m": DAY0 + 2 * DAY}))
    _job(db, tmp_path).backfill()
    _assert_complete(db)


@pytest.mark.parametrize(
    ("saved", "kept"),
    [
        (b"{not json", {}),
        (b"[1, 2]", {}),
        (
            b'{"door_5m": "x", "door_1h": -5, "water_1h": 1800, "water_5m": 86400}',
            {"water_5m": DAY},
        ),
    ],
)
def test_damaged_marks_are_logged_and_left_out(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, saved: bytes, kept: dict[str, int]
) -> None:
    path = tmp_path / "backfill.json"
    path.write_bytes(saved)
    marks = BackfillMarks(path)
    assert {s: marks.resume_from(s) for s in kept} == kept
    assert marks.resume_from("door_5m") is marks.resume_from("water_1h") is None
    assert str(path) in caplog.text
    assert "DROP MEASUREMENT" in caplog.text  # how to have one computed again


def test_a_backfill_that_cannot_mark_its_beginning_writes_nothing(
    tmp_path: Path, db: InfluxClient
) -> None:
    _fill_three_days(db)
    job = _job(db, tmp_path)
    (tmp_path / "bf").mkdir()  # the marks' file cannot be written: a folder in its place
    (tmp_path / "bf" / "x").touch()
    with pytest.raises(OSError, match="bf"):
        job.backfill()
    assert count_points(db, "door_5m", "open") == 0
