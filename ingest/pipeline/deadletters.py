"""The dead-letter store: every rejected input with its reason and raw payload.

One JSON object per line in ``state_dir/deadletters/YYYY-MM-DD.jsonl`` (UTC days), so an
operator can read, grep and replay them. Entries are fsynced before the message they
come from is acknowledged.
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
        try:
            doc["payload"] = self.payload.decode()
        except UnicodeDecodeError:
            doc["payload_base64"] = base64.b64encode(self.payload).decode()
        return orjson.dumps(doc) + b"\n"


class DeadLetterStore:
    """Append-only daily JSON-lines files."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._day = ""
        self._file: BinaryIO | None = None

    def write(self, letters: list[DeadLetter]) -> None:
        """Append entries and fsync them."""
        if not letters:
            return
        now = time.time()
        received_ms = int(now * 1000)
        data = b"".join(letter.to_json(received_ms) for letter in letters)
        with self._lock:
            handle = self._handle(time.strftime("%Y-%m-%d", time.gmtime(now)))
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())

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
