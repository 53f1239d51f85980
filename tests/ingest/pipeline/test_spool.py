"""The durable spool: ordering, segments, cursor and crash recovery."""

from __future__ import annotations

from pathlib import Path

from ingest.pipeline.spool import Position, Spool


def _drain(spool: Spool) -> list[bytes]:
    records: list[bytes] = []
    while (batch := spool.read(1 << 20, timeout=0.01)) is not None:
        records += batch.records
        spool.commit(batch.end)
    return records


def test_records_come_back_in_order_across_segments(tmp_path: Path) -> None:
    spool = Spool(tmp_path, segment_bytes=1000)
    spool.open()
    bodies = [f"line {i} ".encode() * 20 for i in range(50)]
    for body in bodies:
        spool.append([body])
    assert len(list(tmp_path.glob("*.seg"))) > 5
    assert _drain(spool) == bodies
    assert spool.pending_bytes() == 0
    assert len(list(tmp_path.glob("*.seg"))) == 1  # finished segments are deleted


def test_cursor_survives_reopen_and_only_unread_records_replay(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.open()
    spool.append([b"a", b"b", b"c"])
    batch = spool.read(3 + 8, timeout=0.1)  # room for one record only
    assert batch is not None
    assert batch.records == [b"a"]
    spool.commit(batch.end)
    spool.close()
    again = Spool(tmp_path)
    again.open()
    assert _drain(again) == [b"b", b"c"]


def test_torn_tail_is_cut_and_earlier_records_kept(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.open()
    spool.append([b"first", b"second"])
    spool.close()
    segment = next(tmp_path.glob("*.seg"))
    with segment.open("ab") as fh:
        fh.write(b"\x20\x00\x00\x00\x00\x00")  # a header cut short by a crash
    again = Spool(tmp_path)
    again.open()
    assert _drain(again) == [b"first", b"second"]
    again.append([b"third"])
    assert _drain(again) == [b"third"]


def test_large_record_is_read_whole(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.open()
    big = b"x" * 300_000
    spool.append([big, b"small"])
    batch = spool.read(1000, timeout=0.1)
    assert batch is not None
    assert batch.records == [big]
    assert batch.end > Position(0, 0)


def test_full_spool_reports_full(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=100)
    spool.open()
    spool.append([b"y" * 200])
    assert spool.is_full()
