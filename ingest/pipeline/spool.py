"""The durable local spool between the MQTT consumer and the InfluxDB writer.

Why a spool (SPEC §5): the consumer acknowledges a message to the broker only after
its readings are fsynced here, so the broker never holds a backlog while InfluxDB is
down, the live path (registry, alert rules) keeps seeing every reading at once, and
an outage of hours costs disk space, not broker or process memory. The writer drains
the spool in order and moves a cursor forward only after InfluxDB accepted a batch;
a crash replays from the cursor, which is harmless because writes are idempotent.

Each append may say which ``(measurement, five-minute span)`` pairs its records touch;
a batch read back carries those of its records (``spoolspans.py``).

Layout: ``NNNNNNNNNNNN.seg`` segment files of records ``<u32 length><u32 crc32><body>``,
plus ``cursor.json`` holding the read position. A torn record at the end of the last
segment (a crash during append, before its fsync and hence before any ack) is cut off
on open: the broker redelivers those messages.
"""

from __future__ import annotations

import contextlib
import logging
import os
import struct
import threading
import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import orjson

from campuswatch.atomicfile import fsync_directory, write_atomic
from ingest.errors import SpoolError
from ingest.pipeline.spoolspans import NotedSpans, Spans

log = logging.getLogger(__name__)

_HEADER = struct.Struct("<II")
# The cursor only limits replay after a crash (replayed writes are idempotent): saving it
# about once a second keeps small batches from costing a file replace each.
CURSOR_SAVE_INTERVAL_S = 1.0
_SEGMENT_SUFFIX = ".seg"
_PIECE = 4096


@dataclass(frozen=True, order=True, slots=True)
class Position:
    """A place in the spool: segment number and byte offset."""

    segment: int
    offset: int


@dataclass(frozen=True, slots=True)
class SpoolBatch:
    """Records read from the spool, the position just after the last one, and the
    spans they touch (None: not known, read them from the lines)."""

    records: list[bytes]
    end: Position
    spans: Spans | None = None


def checksum(body: bytes) -> int:
    """CRC-32 of ``body``, in pieces of 4 KiB: ``zlib.crc32`` lets go of the GIL for more
    than 5 KiB at once, and getting it back behind the busy MQTT thread took about a
    millisecond each time: with a 50-reading envelope's record (5.3 KB) a commit or a
    read of 200 records waited 100-200 ms for a few ms of work (bench_ingest)."""
    if len(body) <= _PIECE:
        return zlib.crc32(body)
    view, crc = memoryview(body), 0
    for start in range(0, len(body), _PIECE):
        crc = zlib.crc32(view[start : start + _PIECE], crc)
    return crc


def _segment_name(number: int) -> str:
    return f"{number:012d}{_SEGMENT_SUFFIX}"


def _scan_valid_length(data: bytes) -> int:
    """Length of the prefix of ``data`` made of whole records with good checksums."""
    offset = 0
    while offset + _HEADER.size <= len(data):
        length, crc = _HEADER.unpack_from(data, offset)
        body_end = offset + _HEADER.size + length
        if body_end > len(data) or checksum(data[offset + _HEADER.size : body_end]) != crc:
            break
        offset = body_end
    return offset


class Spool:
    """Append-only, crash-safe record log with one reader cursor."""

    def __init__(
        self,
        directory: Path,
        *,
        segment_bytes: int = 64 << 20,
        max_bytes: int = 4 << 30,
        reserve_bytes: int = 0,
    ) -> None:
        self.directory = directory
        self.segment_bytes = segment_bytes
        self.max_bytes = max_bytes
        # Free space on the volume that appends leave alone: the alert database, people
        # and ack links need it when the disk fills up (readings then wait at the broker).
        self.reserve_bytes = reserve_bytes
        self._lock = threading.Condition()
        self._append_lock = threading.Lock()
        self._sizes: dict[int, int] = {}  # segment number -> durable size
        self._cursor = Position(0, 0)
        self._writer: BinaryIO | None = None
        self._reader: tuple[int, BinaryIO] | None = None
        self._closed = False
        self._active = 0
        self._cursor_saved_at = 0.0
        self._spans = NotedSpans()

    # ------------------------------------------------------------------ lifecycle

    def open(self) -> None:
        """Create the directory, recover segments after a crash and load the cursor."""
        self.directory.mkdir(parents=True, exist_ok=True)
        numbers = sorted(
            int(p.name.removesuffix(_SEGMENT_SUFFIX))
            for p in self.directory.glob("*" + _SEGMENT_SUFFIX)
        )
        for number in numbers:
            self._sizes[number] = (self.directory / _segment_name(number)).stat().st_size
        if numbers:
            self._truncate_torn_tail(numbers[-1])
        self._cursor = self._load_cursor(numbers)
        active = numbers[-1] if numbers else 0
        self._open_writer(active)
        log.info(
            "spool %s opened: %d segment(s), %d bytes waiting",
            self.directory,
            len(self._sizes),
            self.pending_bytes(),
        )

    def close(self) -> None:
        """Close file handles and wake any waiting reader."""
        with self._lock:
            self._closed = True
            if self._sizes:
                self._save_cursor(self._cursor)
            if self._writer is not None:
                self._writer.close()
                self._writer = None
            if self._reader is not None:
                self._reader[1].close()
                self._reader = None
            self._lock.notify_all()

    def _truncate_torn_tail(self, number: int) -> None:
        path = self.directory / _segment_name(number)
        data = path.read_bytes()
        valid = _scan_valid_length(data)
        if valid < len(data):
            log.warning(
                "spool %s: cutting %d bytes of an unfinished record (not acknowledged, "
                "the broker redelivers it)",
                path,
                len(data) - valid,
            )
            with path.open("r+b") as fh:
                fh.truncate(valid)
                os.fsync(fh.fileno())
            self._sizes[number] = valid

    def _load_cursor(self, numbers: list[int]) -> Position:
        if not numbers:
            return Position(0, 0)
        first = Position(numbers[0], 0)
        path = self.directory / "cursor.json"
        if not path.exists():
            return first
        try:
            doc = orjson.loads(path.read_bytes())
            cursor = Position(int(doc["segment"]), int(doc["offset"]))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            log.warning("spool cursor %s unreadable: replaying all segments", path)
            return first
        if cursor.segment not in self._sizes:
            return first
        return Position(cursor.segment, min(cursor.offset, self._sizes[cursor.segment]))

    def _open_writer(self, number: int) -> None:
        self._writer = (self.directory / _segment_name(number)).open("ab")
        self._sizes.setdefault(number, 0)
        # Kept, not derived from _sizes: the reader deletes keys from it concurrently.
        self._active = number
        fsync_directory(self.directory)

    # ------------------------------------------------------------------ writing

    @property
    def active_segment(self) -> int:
        """Number of the segment being appended to."""
        return self._active

    def pending_bytes(self) -> int:
        """Bytes written but not yet consumed by the reader."""
        with self._lock:
            total = sum(size for n, size in self._sizes.items() if n >= self._cursor.segment)
            return total - self._cursor.offset

    def _check_reserve(self, size: int) -> None:
        if not self.reserve_bytes:
            return
        info = os.statvfs(self.directory)
        free = info.f_bavail * info.f_frsize
        if free - size < self.reserve_bytes:
            raise SpoolError(
                f"the disk of {self.directory} has {free >> 20} MB free, under the reserve of "
                f"{self.reserve_bytes >> 20} MB kept for alerts (spool.reserve_mb): readings "
                "wait at the broker until space is freed"
            )

    def is_full(self) -> bool:
        """True when the spool holds ``max_bytes`` or more waiting bytes."""
        return self.pending_bytes() >= self.max_bytes

    def append(self, bodies: list[bytes], spans: Iterable[tuple[str, int]] | None = None) -> None:
        """Append records and make them durable (fsync) before returning; ``spans``:
        every ``(measurement, span)`` they touch, when the caller knows."""
        if not bodies:
            return
        frames = bytearray()
        for body in bodies:
            frames += _HEADER.pack(len(body), checksum(body))
            frames += body
        with self._append_lock:  # the consumer and the alert-event exporter both append
            writer = self._writer_or_new()
            self._check_reserve(len(frames))
            number = self.active_segment
            try:
                writer.write(frames)
                writer.flush()
                os.fdatasync(writer.fileno())
            except OSError as exc:
                self._rewind(number)
                raise SpoolError(f"cannot write spool segment {number}: {exc}") from exc
            with self._lock:
                start = Position(number, self._sizes[number])
                self._sizes[number] += len(frames)
                if spans is not None:
                    end = Position(number, self._sizes[number])
                    self._spans.note(start, end, frozenset(spans))
                if self._sizes[number] >= self.segment_bytes:
                    writer.close()
                    self._open_writer(number + 1)
                self._lock.notify_all()

    def _writer_or_new(self) -> BinaryIO:
        """The segment's handle; after a failed append left none, a new segment's."""
        if self._writer is None:
            if self._closed:
                raise SpoolError("spool is closed")
            number = self._active + 1
            with self._lock:
                try:
                    self._open_writer(number)
                except OSError as exc:
                    raise SpoolError(f"cannot start spool segment {number}: {exc}") from exc
        assert self._writer is not None
        return self._writer

    def _rewind(self, number: int) -> None:
        """After a failed append (a full disk): cut what reached the segment of it, which
        the reader would take for records at offsets the sizes do not know, and go on
        with a new handle (the append lock held)."""
        if self._writer is not None:
            with contextlib.suppress(OSError):  # flushing what it still buffers: dropped
                self._writer.close()
        path = self.directory / _segment_name(number)
        try:
            with path.open("r+b") as fh:
                fh.truncate(self._sizes[number])
            self._writer = path.open("ab")
        except OSError as exc:  # the next append starts a new segment
            log.error("spool segment %s cannot be cut back after a failed append: %s", path, exc)
            self._writer = None

    # ------------------------------------------------------------------ reading

    def read(
        self, max_bytes: int, timeout: float, start: Position | None = None
    ) -> SpoolBatch | None:
        """Return the records after ``start`` (default: the cursor), about ``max_bytes``
        of them, waiting up to ``timeout`` for some to arrive; None when none did."""
        with self._lock:
            origin = start or self._cursor
            position = self._next_readable(origin)
            if position is None:
                self._lock.wait(timeout)
                position = self._next_readable(origin)
            if position is None or self._closed:
                return None
            end = self._sizes[position.segment]
        batch = self._read_records(position, end, max_bytes)
        with self._lock:
            return SpoolBatch(batch.records, batch.end, self._spans.of(position, batch.end))

    def _next_readable(self, position: Position) -> Position | None:
        """The first position with data at or after ``position`` (lock held)."""
        while True:
            size = self._sizes.get(position.segment)
            if size is None:
                later = [n for n in self._sizes if n > position.segment]
                if not later:
                    return None
                position = Position(min(later), 0)
                continue
            if position.offset < size:
                return position
            if position.segment >= self.active_segment:
                return None
            position = Position(position.segment + 1, 0)

    def _read_records(self, start: Position, end: int, max_bytes: int) -> SpoolBatch:
        handle = self._reader_for(start.segment)
        handle.seek(start.offset)
        data = handle.read(min(end - start.offset, max(max_bytes, _HEADER.size)))
        records: list[bytes] = []
        offset = 0
        while offset + _HEADER.size <= len(data):
            length, crc = _HEADER.unpack_from(data, offset)
            body_end = offset + _HEADER.size + length
            if body_end > len(data):
                if records:
                    break
                data += handle.read(body_end - len(data))  # one record larger than max_bytes
            body = data[offset + _HEADER.size : body_end]
            if checksum(body) != crc:
                raise SpoolError(
                    f"spool segment {start.segment} corrupt at {start.offset + offset}"
                )
            records.append(body)
            offset = body_end
        return SpoolBatch(records, Position(start.segment, start.offset + offset))

    def _reader_for(self, number: int) -> BinaryIO:
        if self._reader is None or self._reader[0] != number:
            if self._reader is not None:
                self._reader[1].close()
            self._reader = (number, (self.directory / _segment_name(number)).open("rb"))
        return self._reader[1]

    def commit(self, position: Position) -> None:
        """Move the cursor to ``position`` and delete segments read to the end."""
        with self._lock:
            while position.segment < self.active_segment and position.offset >= self._sizes.get(
                position.segment, 0
            ):
                position = Position(position.segment + 1, 0)  # a sealed segment read to its end
            self._cursor = position
            self._spans.forget_before(position)
            finished = [n for n in self._sizes if n < position.segment]
            for number in finished:
                del self._sizes[number]
        for number in finished:
            (self.directory / _segment_name(number)).unlink(missing_ok=True)
        now = time.monotonic()
        if finished or now - self._cursor_saved_at >= CURSOR_SAVE_INTERVAL_S:
            self._save_cursor(position)
            self._cursor_saved_at = now

    def _save_cursor(self, position: Position) -> None:
        # No fsync: a cursor lost in a crash only replays writes, which are idempotent.
        cursor = orjson.dumps({"segment": position.segment, "offset": position.offset})
        write_atomic(self.directory / "cursor.json", cursor, durable=False)
