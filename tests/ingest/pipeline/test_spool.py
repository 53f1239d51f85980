"""The durable spool: ordering, segments, cursor and crash recovery."""

from __future__ import annotations

import os
import zlib
from pathlib import Path

import pytest

from ingest.errors import SpoolError
from ingest.pipeline.spool import Position, Spool, checksum


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


def test_the_spans_noted_with_an_append_come_back_with_its_records(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.open()
    spool.append([b"a", b"b"], {("door", 5)})
    spool.append([b"c"], {("water", 6), ("door", 5)})
    batch = spool.read(1 << 20, timeout=0.1)
    assert batch is not None
    assert batch.records == [b"a", b"b", b"c"]
    assert batch.spans == {("door", 5), ("water", 6)}
    # Read in part, an append gives all its spans; the rest gives them again.
    spool.commit(batch.end)
    spool.append([b"d", b"e"], {("door", 7)})
    first = spool.read(1 + 8, timeout=0.1)
    assert first is not None
    assert (first.records, first.spans) == ([b"d"], {("door", 7)})
    spool.commit(first.end)
    rest = spool.read(1 << 20, timeout=0.1)
    assert rest is not None
    assert (rest.records, rest.spans) == ([b"e"], {("door", 7)})


def test_records_without_noted_spans_say_so(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.open()
    spool.append([b"a"], {("door", 5)})
    spool.append([b"b"])  # appended without them (the alert events)
    spool.append([b"c"], set())  # noted: none
    batch = spool.read(1 << 20, timeout=0.1)
    assert batch is not None
    assert batch.spans is None  # the writer reads the lines
    spool.commit(batch.end)
    spool.append([b"d"], set())
    spool.close()
    again = Spool(tmp_path)  # a restart: what was spooled before is read from its lines
    again.open()
    replayed = again.read(1 << 20, timeout=0.1)
    assert replayed is not None
    assert (replayed.records, replayed.spans) == ([b"d"], None)
    again.append([b"e"], {("water", 1)})
    again.commit(replayed.end)
    fresh = again.read(1 << 20, timeout=0.1)
    assert fresh is not None
    assert (fresh.records, fresh.spans) == ([b"e"], {("water", 1)})


def test_a_failed_append_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its bytes may reach the segment before the fsync fails (a full disk): they are cut,
    so the next records are read where the spool says they are (before, the reader took
    the failed record for the next one)."""
    spool = Spool(tmp_path)
    spool.open()
    spool.append([b"first"], {("door", 1)})
    sync = os.fdatasync

    def failing(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fdatasync", failing)
    with pytest.raises(SpoolError):
        spool.append([b"not stored"], {("door", 2)})
    monkeypatch.setattr(os, "fdatasync", sync)
    spool.append([b"third"], {("door", 3)})
    batch = spool.read(1 << 20, timeout=0.1)
    assert batch is not None
    assert (batch.records, batch.spans) == ([b"first", b"third"], {("door", 1), ("door", 3)})
    spool.close()
    again = Spool(tmp_path)
    again.open()
    assert _drain(again) == [b"first", b"third"]


@pytest.mark.parametrize("size", [0, 1, 4095, 4096, 4097, 5300, 8192, 8193, 100_000, 1 << 20])
def test_checksum_is_zlibs_crc32(size: int) -> None:
    """Taken in 4 KiB pieces (so the GIL is kept), the checksum is zlib's all the same:
    segments an older version wrote still read back."""
    body = os.urandom(size)
    assert checksum(body) == zlib.crc32(body)
