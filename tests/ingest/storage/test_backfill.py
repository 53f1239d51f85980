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
from ingest.storage.rollups import RollupJob
from tests.clock import ManualClock
from tests.harness import count_points

DAY = 86_400
DAY0 = 1_795_456_800 // DAY * DAY  # 2026-11-23 00:00 UTC
HOURS = 72


class StopsItsJob(InfluxClient):
    """A real client that stops its job after the first write, as a restart would."""

    job: RollupJob | None = None

    def write(self, body: bytes) -> None:
        super().write(body)
        if self.job is not None:
            self.job.stop()


def _job(client: InfluxClient, tmp_path: Path) -> RollupJob:
    clock = ManualClock(DAY0 + 3 * DAY + 600)
    book = DirtyHours(tmp_path / "dirty-hours.json", {})
    return RollupJob(client, clock, "Asia/Shanghai", book, marks=BackfillMarks(tmp_path / "bf"))


def test_a_stopped_backfill_goes_on_where_it_got_to(
    tmp_path: Path, db: InfluxClient, influxd: InfluxServer
) -> None:
    db.create_database()
    db.write(
        "\n".join(
            f"door,device=d1,gateway=gw,site=s open=1i {(DAY0 + h * 3600 + 600) * 1000}\n"
            f"electricity,device=m1,gateway=gw,site=s energy_kwh={100 + h}.0,power_w=5.0"
            f" {(DAY0 + h * 3600 + 600) * 1000}"
            for h in range(HOURS)
        ).encode()
    )
    stopping = StopsItsJob(influxd.url, db.database)
    first = stopping.job = _job(stopping, tmp_path)
    first.backfill()
    marks = orjson.loads((tmp_path / "bf").read_bytes())
    assert marks["door_5m"] == DAY0 + DAY  # its first day written, then stopped
    assert marks["door_1h"] == DAY0 == marks["electricity_usage_1h"]  # marked, not begun
    assert count_points(db, "door_5m", "open") == 24
    assert count_points(db, "door_1h", "open") == 0

    _job(db, tmp_path).backfill()  # the next start
    assert count_points(db, "door_5m", "open") == HOURS
    assert count_points(db, "door_1h", "open") == HOURS
    [total] = db.query('SELECT sum("increase") FROM "electricity_usage_1h"')
    assert total["sum"] == HOURS - 1
    assert orjson.loads((tmp_path / "bf").read_bytes()) == {}  # all reached the present
    assert BackfillMarks(tmp_path / "bf").resume_from("door_5m") is None


@pytest.mark.parametrize(
    ("saved", "kept"),
    [
        (b"{not json", {}),
        (b"[1, 2]", {}),
        (b'{"door_5m": "x", "door_1h": -5, "water_5m": 86400}', {"water_5m": 86400}),
    ],
)
def test_damaged_marks_are_logged_and_left_out(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, saved: bytes, kept: dict[str, int]
) -> None:
    path = tmp_path / "backfill.json"
    path.write_bytes(saved)
    marks = BackfillMarks(path)
    assert {s: marks.resume_from(s) for s in kept} == kept
    assert marks.resume_from("door_5m") is None
    assert str(path) in caplog.text
