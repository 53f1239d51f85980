"""Crash safety of every durable store (issue 24 §4): a writer process commits records
and is SIGKILLed at a random point of its writes, again and again on the same files; after
each kill the store opens as the service opens it, holds every record the writer had
committed, and nothing half-written. Power loss is played where it can be: the bytes a
write had not fsync'd are torn (a partial frame at the end of a SQLite WAL, a partial
record at the end of a spool segment, a partial temporary file beside an atomic JSON
file), as a power cut leaves them.

``CAMPUSWATCH_CRASH_ITERATIONS`` (6 here) sets the kills per store; ``make bench`` runs 100.
"""

from __future__ import annotations

import os
import random
import struct
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

import pytest

from tests.crash.stores import RUN_NUMBERS, STORES

ITERATIONS = int(os.environ.get("CAMPUSWATCH_CRASH_ITERATIONS", "6"))
ROOT = Path(__file__).resolve().parents[2]


class WriterProcess:
    """``python -m tests.crash.stores``: the records it said it committed."""

    def __init__(self, store: str, directory: Path, first: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.crash.stores", store, str(directory), str(first)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=ROOT,
        )
        self.committed: list[int] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith(b"C "):
                self.committed.append(int(line[2:]))

    def kill_after(self, commits: int, extra_s: float) -> set[int]:
        """SIGKILL once ``commits`` records are committed and ``extra_s`` more passed
        (mid-write of the next, most likely); every record it said it committed."""
        deadline = time.monotonic() + 60
        while len(self.committed) < commits:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                assert self.proc.stderr is not None
                raise AssertionError(f"the writer stopped: {self.proc.stderr.read().decode()}")
            time.sleep(0.002)
        time.sleep(extra_s)
        self.proc.kill()
        self.proc.wait()
        self._reader.join(10)
        return set(self.committed)


def tear(directory: Path, rng: random.Random) -> str:
    """Leave what a power cut leaves of writes never fsync'd; says what it tore."""
    wal = next(iter(directory.glob("*-wal")), None)
    segments = sorted((directory / "spool").glob("*.seg")) if (directory / "spool").exists() else []
    if wal is not None and wal.stat().st_size:
        with wal.open("ab") as f:  # a frame header and part of its page
            f.write(rng.randbytes(24 + rng.randint(1, 2000)))
        return "a torn WAL frame"
    if segments:
        body = rng.randbytes(rng.randint(20, 400))
        header = struct.pack("<II", len(body), zlib.crc32(body))
        with segments[-1].open("ab") as f:  # the record's header, part of its body
            f.write(header + body[: rng.randint(0, len(body) - 1)])
        return "a torn spool record"
    for atomic in directory.glob("*.json"):
        torn = atomic.read_bytes()[: rng.randint(0, atomic.stat().st_size)]
        atomic.with_name(f".{atomic.name}.99999.0badc0de.tmp").write_bytes(torn)
        return "a torn temporary file"
    return "nothing"


@pytest.mark.parametrize("store", sorted(STORES))
def test_a_store_killed_mid_write_opens_with_every_committed_record(
    store: str, tmp_path: Path
) -> None:
    rng = random.Random(f"{store}-24")
    _writer, check = STORES[store]
    committed: set[int] = set()
    torn: list[str] = []
    for iteration in range(ITERATIONS):
        # Numbers of their own per run: a record committed but not yet said (killed
        # between the commit and the print) must not clash with the next run's.
        writer = WriterProcess(store, tmp_path, iteration * RUN_NUMBERS)
        committed |= writer.kill_after(rng.randint(1, 25), rng.uniform(0.0, 0.02))
        if iteration % 2:
            torn.append(tear(tmp_path, rng))
        problems = check(tmp_path, committed)
        assert not problems, f"after kill {iteration + 1} ({torn[-1:]}): {problems}"
    print(
        f"{store}: {ITERATIONS} kills, {len(committed)} committed records kept, torn: {set(torn)}"
    )
