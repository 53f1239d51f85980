"""The dead-letter store: every rejected input with its reason and raw payload.

One JSON object per line in ``state_dir/deadletters/YYYY-MM-DD.jsonl`` (UTC days), so an
operator can read, grep and replay them. Entries are fsynced before the message they
come from is acknowledged. A payload larger than any valid message (an envelope is at
most 256 KiB), or refused whole (not JSON, a bad topic), is kept as its first 4 KiB with
its size; and the store is bounded: day
files older than ``keep_days`` and the oldest beyond ``max_bytes`` are deleted, and when
today's file alone is full further entries are counted, not written.
"""

from __future__ import annotations

import base64
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import orjson

log = logging.getLogger(__name__)


KEEP_WHOLE = 256 * 1024  # every valid message is smaller: keep it whole to replay it
EXCERPT = 4096
# Refused as a whole for what it is, not for what it says: nothing to replay, an excerpt
# shows what came.
EXCERPT_ONLY = frozenset({"not_json", "too_large", "meta_too_large", "bad_topic"})


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One rejected input."""

    source: str  # topic, or "influx" for points InfluxDB refused
    reason: str  # short code, also the metrics label
    detail: str
    payload: bytes

    def to_json(self, received_ms: int) -> bytes:
        """Serialise as one JSON line; payloads that are not UTF-8 are base64-encoded."""
        doc: dict[str, object] = {
            "received_ms": received_ms,
            "source": self.source,
            "reason": self.reason,
            "detail": self.detail,
        }
        payload = self.payload
        if len(payload) > (EXCERPT if self.reason in EXCERPT_ONLY else KEEP_WHOLE):
            doc["payload_bytes"] = len(payload)
            payload = payload[:EXCERPT]
            doc["payload_excerpt"] = True
        try:
            doc["payload"] = payload.decode()
        except UnicodeDecodeError:
            doc["payload_base64"] = base64.b64encode(payload).decode()
        return orjson.dumps(doc) + b"\n"


class DeadLetterStore:
    """Append-only daily JSON-lines files, bounded by size and age."""

    def __init__(
        self,
        directory: Path,
        max_bytes: int = 256 << 20,
        keep_days: int = 90,
        reserve_bytes: int = 0,
    ) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.keep_days = keep_days
        self.reserve_bytes = reserve_bytes  # free space left alone (for the alert database)
        self.dropped = 0  # entries not written because the store was full
        self._lock = threading.Lock()
        self._day = ""
        self._file: BinaryIO | None = None
        self._sizes: dict[str, int] | None = None  # day -> bytes, read at the first write

    def write(self, letters: list[DeadLetter]) -> int:
        """Append entries and fsync them; how many were dropped because the store is full."""
        if not letters:
            return 0
        now = time.time()
        received_ms = int(now * 1000)
        day = time.strftime("%Y-%m-%d", time.gmtime(now))
        with self._lock:
            sizes = self._day_sizes()
            self._prune(sizes, now)
            room = min(self.max_bytes - sum(sizes.values()), self._free() - self.reserve_bytes)
            data = bytearray()
            dropped = 0
            for letter in letters:
                line = letter.to_json(received_ms)
                if len(data) + len(line) > room:
                    dropped += 1
                    continue
                data += line
            if data:
                handle = self._handle(day)
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
                sizes[day] = sizes.get(day, 0) + len(data)
            if dropped:
                self.dropped += dropped
                log.error(
                    "dead-letter store %s full (%d bytes): %d entr(ies) not kept",
                    self.directory,
                    self.max_bytes,
                    dropped,
                )
            return dropped

    def _free(self) -> int:
        info = os.statvfs(self.directory)
        return info.f_bavail * info.f_frsize

    def _day_sizes(self) -> dict[str, int]:
        if self._sizes is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._sizes = {p.stem: p.stat().st_size for p in self.directory.glob("*.jsonl")}
        return self._sizes

    def _prune(self, sizes: dict[str, int], now: float) -> None:
        """Delete day files past ``keep_days``, then the oldest while over ``max_bytes``."""
        oldest_kept = time.strftime("%Y-%m-%d", time.gmtime(now - self.keep_days * 86_400))
        for day in sorted(sizes):
            over = sum(sizes.values()) > self.max_bytes * 0.9
            if day >= oldest_kept and not over:
                break
            if day == self._day:
                break  # today's file stays; entries beyond the room are counted
            (self.directory / f"{day}.jsonl").unlink(missing_ok=True)
            del sizes[day]

    def _handle(self, day: str) -> BinaryIO:
        if self._file is None or day != self._day:
            if self._file is not None:
                self._file.close()
            self.directory.mkdir(parents=True, exist_ok=True)
            self._file = (self.directory / f"{day}.jsonl").open("ab")
            self._day = day
        return self._file

    def close(self) -> None:
        """Close the current file."""
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
