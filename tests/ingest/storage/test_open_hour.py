"""An hour that is not over gets its 1-hour rollup from its 5-minute ones; once over, from
the raw points, once: the book keeps it aside until then, across a restart. Against a real
influxd, on a clock the test moves."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from campuswatch.protocol import KINDS, FieldType
from ingest.storage.dirty import DirtyHours
from ingest.storage.influx import InfluxClient
from ingest.storage.rollups import ROLLUPS, Rollup, RollupJob, derived_keys
from tests.clock import ManualClock

HOUR = 1_795_456_800  # 2026-11-23 18:00 UTC
KEYS = {"door": ("door",)}


def test_open_hours_are_kept_aside_until_over_and_then_booked(tmp_path: Path) -> None:
    path = tmp_path / "dirty-hours.json"
    book = DirtyHours(path, KEYS)
    book.book([("door", (HOUR + 600) // 300)])
    taken = book.take(HOUR + 620)
    assert taken.runs == {"door": [(HOUR + 600, HOUR + 3600)]}
    book.when_over("door", [HOUR // 3600, HOUR // 3600 + 1])  # a clock ahead: the next too
    book.done("door", taken.runs["door"][0], taken.generation)
    assert book.take(HOUR + 3599).runs == {}
    assert book.waiting() == 0  # not work waiting: the watchdog does not count it
    assert DirtyHours(path, KEYS).take(HOUR + 3599).runs == {}  # a restart: still aside
    # Over: from its last span (its 5-minute buckets followed the raw points; the hour's
    # own bucket is made from all of them), and saved as booked before take returns.
    assert book.take(HOUR + 3600).runs == {"door": [(HOUR + 3300, HOUR + 3600)]}
    saved = orjson.loads(path.read_bytes())
    assert saved == {"hours": {"door": [HOUR // 3600]}, "later": {"door": [HOUR // 3600 + 1]}}
    again = DirtyHours(path, KEYS)  # read back: booked hours whole, kept ones still kept
    assert again.take(HOUR + 3600).runs == {"door": [(HOUR, HOUR + 3600)]}
    assert again.take(HOUR + 7200).runs == {"door": [(HOUR, HOUR + 7200)]}


@pytest.mark.parametrize(
    "later",
    [b"null", b"[1, 2]", b'"x"', b'{"door": [-1, "x", true, 498740.0]}'],
    ids=["null", "list", "string", "no-hours"],
)
def test_damage_to_the_kept_hours_costs_only_them(tmp_path: Path, later: bytes) -> None:
    path = tmp_path / "dirty-hours.json"
    path.write_bytes(b'{"hours": {"door": [%d]}, "later": %b}' % (HOUR // 3600, later))
    book = DirtyHours(path, KEYS)
    assert book.existed
    assert book.take(HOUR + 86_400).runs == {"door": [(HOUR, HOUR + 3600)]}


def _write_celsius(db: InfluxClient, hour_s: int, stamps: list[tuple[int, float]]) -> None:
    db.write(
        "\n".join(
            f"temperature,device=fridge-1,gateway=gw,site=s celsius={c} {(hour_s + t) * 1000}"
            for t, c in stamps
        ).encode()
    )


def _celsius_1h(db: InfluxClient, hour_s: int) -> dict[str, float]:
    [row] = db.query(
        'SELECT "celsius", "celsius_max", "celsius_min" FROM "temperature_1h"'
        f" WHERE time = {hour_s}s"
    )
    return {k: float(v) for k, v in row.items() if k != "time"}


def test_an_open_hour_is_made_from_its_five_minute_buckets_then_from_the_raw_points(
    tmp_path: Path, db: InfluxClient
) -> None:
    db.create_database()
    # 2 °C once in the first five minutes, 8 °C three times in the next: the mean of the
    # 5-minute means (5) is not the hour's mean (6.5), so each source shows. The hour
    # before, over, has the same readings; a run covers both.
    stamps = [(0, 2.0), (300, 8.0), (400, 8.0), (500, 8.0)]
    _write_celsius(db, HOUR - 3600, stamps)
    _write_celsius(db, HOUR, stamps)
    clock = ManualClock(HOUR + 620)
    book = DirtyHours(tmp_path / "dirty-hours.json", derived_keys())
    job = RollupJob(db, clock, "Asia/Shanghai", book)
    book.book([("temperature", (h + t) // 300) for h in (HOUR - 3600, HOUR) for t, _ in stamps])
    assert job.recompute(book.take(clock.time())) == []
    assert _celsius_1h(db, HOUR - 3600) == {"celsius": 6.5, "celsius_max": 8.0, "celsius_min": 2.0}
    assert _celsius_1h(db, HOUR) == {"celsius": 5.0, "celsius_max": 8.0, "celsius_min": 2.0}

    clock.advance(2900)  # a reading later in the hour: the bucket follows
    _write_celsius(db, HOUR, [(3500, 9.0)])
    book.book([("temperature", (HOUR + 3500) // 300)])
    taken = book.take(clock.time())
    assert taken.runs == {"temperature": [(HOUR + 3300, HOUR + 3600)]}
    assert job.recompute(taken) == []
    assert _celsius_1h(db, HOUR) == {"celsius": 19 / 3, "celsius_max": 9.0, "celsius_min": 2.0}

    clock.advance(100)  # over: from the raw points; the hour before is not booked again
    taken = book.take(clock.time())
    assert taken.runs == {"temperature": [(HOUR + 3300, HOUR + 3600)]}
    assert job.recompute(taken) == []
    assert _celsius_1h(db, HOUR) == {"celsius": 7.0, "celsius_max": 9.0, "celsius_min": 2.0}
    assert book.take(clock.time() + 86_400).runs == {}


def _raw_value(kind: str, field: str, step: int, device: int) -> str:
    """Values in no order (the last is not the largest), of the field's stored type."""
    n = (step * 7) % 24 + device
    declared = KINDS[kind].types.get(field)
    if declared is FieldType.BOOL:
        return f"{n % 2}i"
    return f"{n}i" if declared is FieldType.INT else f"{n * 1.5}"


def _buckets(db: InfluxClient, rollup: Rollup) -> dict[tuple[str, str], object]:
    found = {}
    names = ", ".join(f'"{name}"' for _fn, _field, name in rollup.fields)
    for series in db.series(f'SELECT {names} FROM "{rollup.measurement}_1h" GROUP BY "device"'):
        [row] = series.values
        for column, value in zip(series.columns[1:], row[1:], strict=True):
            found[(series.tags["device"], column)] = value
    return found


@pytest.mark.parametrize("rollup", ROLLUPS, ids=lambda r: r.measurement)
def test_an_hour_from_five_minute_buckets_is_the_hour_from_the_raw_points(
    db: InfluxClient, rollup: Rollup
) -> None:
    """Two different readings per 5-minute bucket, two devices: every aggregate is the
    same whichever way the hour is made (the means too: each bucket has as many)."""
    db.create_database()
    kind = rollup.measurement
    fields = sorted({field for _fn, field, _name in rollup.fields})
    db.write(
        "\n".join(
            f"{kind},device=d{device},gateway=gw,site=s "
            + ",".join(f"{f}={_raw_value(kind, f, step, device)}" for f in fields)
            + f" {(HOUR + step * 150 + 7) * 1000}"
            for step in range(24)
            for device in range(2)
        ).encode()
    )
    rollup.compute(db, "5m", HOUR, HOUR + 3600)
    rollup.compute(db, "1h", HOUR, HOUR + 3600, source="5m")
    from_buckets = _buckets(db, rollup)
    rollup.compute(db, "1h", HOUR, HOUR + 3600)
    from_raw = _buckets(db, rollup)
    assert len(from_raw) == 2 * len(rollup.fields)
    assert from_buckets == pytest.approx(from_raw)
    # Floats, as the derived series have always stored (a shard refuses a type change).
    stored = db.query(f'SHOW FIELD KEYS FROM "{kind}_1h"')
    assert {r["fieldKey"]: r["fieldType"] for r in stored} == {
        name: "float" for _fn, _field, name in rollup.fields
    }
    with pytest.raises(ValueError, match="cannot be made"):
        rollup.query("5m", HOUR, HOUR + 3600, source="1h")
