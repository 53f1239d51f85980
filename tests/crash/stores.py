"""Every durable store, as a crash test drives it: a writer (run in a child process the
test SIGKILLs) that commits numbered records and prints ``C <n>`` once each is committed,
and a check (run in the test process) that opens the store as the service does and says
what is wrong: a committed record missing, a half-written one, a store that will not open.

``python -m tests.crash.stores STORE DIRECTORY FIRST`` runs a writer from record FIRST.
"""

from __future__ import annotations

import hashlib
import itertools
import random
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson

from campuswatch import atomicfile
from campuswatch.clock import SystemClock
from gateway.buffer import Buffer
from gateway.config.edge import EdgeConfig
from gateway.edge import EdgeAlarms
from gateway.snapshot_queue import SnapshotQueue
from ingest.config.console import ConsoleConfig
from ingest.duty.books import DutyBooks
from ingest.outbox import Notification, Outbox
from ingest.people.store import LoginRefused, PeopleStore
from ingest.pipeline.spool import Position, Spool
from ingest.rules.model import Alert
from ingest.rules.store import AlertStore
from ingest.storage.dirty import DirtyHours

Writer = Callable[[Path, int], Iterator[int]]
Check = Callable[[Path, set[int]], list[str]]
BASE_MS = 1_795_459_258_120
_CHECK_HOURS = itertools.count(300_000)


def _jpeg(n: int) -> bytes:
    return b"\xff\xd8" + hashlib.sha256(str(n).encode()).digest() * (1 + n % 50) + b"\xff\xd9"


# ---------------------------------------------------------------- gateway buffer


def write_buffer(directory: Path, first: int) -> Iterator[int]:
    """Readings one group commit at a time; every fifth turn an envelope is prepared."""
    buffer = Buffer(directory / "buffer.db", "gw-crash", 64 << 20)
    buffer.open()
    for n in _numbers(first):
        values = {"celsius": 4.0 + n % 7}
        buffer.add(
            [{"device": f"d{n}", "kind": "temperature", "ts": BASE_MS + n, "values": values}]
        )
        yield n
        if n % 5 == 0:
            buffer.prepare(50)


def check_buffer(directory: Path, committed: set[int]) -> list[str]:
    """Every committed reading waits, loose or in an envelope; envelopes parse, seq runs."""
    buffer = Buffer(directory / "buffer.db", "gw-crash", 64 << 20)
    buffer.open()
    found: set[int] = set()
    seqs = []
    for envelope in buffer.unacknowledged():
        doc = orjson.loads(envelope.payload)
        seqs.append(envelope.seq)
        found |= {int(r["device"][1:]) for r in doc["readings"]}
    while (envelope := buffer.prepare(1000)) is not None:
        found |= {int(r["device"][1:]) for r in orjson.loads(envelope.payload)["readings"]}
    buffer.close()
    problems = []
    if seqs and seqs != list(range(seqs[0], seqs[0] + len(seqs))):
        problems.append(f"buffer: envelopes' seq not contiguous: {seqs}")
    return problems + _missing("buffer", committed, found)


# ---------------------------------------------------------------- snapshot queue


def write_snapshots(directory: Path, first: int) -> Iterator[int]:
    """Camera snapshots of different sizes."""
    queue = SnapshotQueue(directory / "snapshots.db", 64 << 20)
    queue.open()
    for n in _numbers(first):
        queue.add("cam-1", f"s{n}", _jpeg(n))
        yield n


def check_snapshots(directory: Path, committed: set[int]) -> list[str]:
    """Every committed snapshot waits, byte for byte."""
    queue = SnapshotQueue(directory / "snapshots.db", 64 << 20)
    queue.open()
    found, problems, skip = set(), [], set()
    while (snapshot := queue.next(skip)) is not None:
        skip.add(snapshot.id)
        n = int(snapshot.id[1:])
        found.add(n)
        if snapshot.body != _jpeg(n):
            problems.append(f"snapshot {snapshot.id}: {len(snapshot.body)} bytes, not its own")
    queue.close()
    return problems + _missing("snapshots", committed, found)


# ---------------------------------------------------------------- spool


def write_spool(directory: Path, first: int) -> Iterator[int]:
    """Records of the consumer, fsync'd before each is acknowledged."""
    spool = Spool(directory / "spool", segment_bytes=64 << 10)
    spool.open()
    for n in _numbers(first):
        spool.append([f"temperature,device=d{n} celsius={n % 9} {BASE_MS + n}".encode()])
        yield n


def check_spool(directory: Path, committed: set[int]) -> list[str]:
    """Every committed record is read back whole (a torn tail is cut off on open)."""
    spool = Spool(directory / "spool", segment_bytes=64 << 10)
    spool.open()
    found: set[int] = set()
    problems = []
    position: Position | None = Position(0, 0)
    while (batch := spool.read(1 << 20, 0.0, position)) is not None:
        for record in batch.records:
            text = record.decode()
            if not text.startswith("temperature,device=d"):
                problems.append(f"spool: a record that is not one written: {text[:60]!r}")
                continue
            found.add(int(text.split(",device=d")[1].split(" ")[0]))
        position = batch.end
    spool.close()
    return problems + _missing("spool", committed, found)


# ---------------------------------------------------------------- alerts and outbox


def write_alerts(directory: Path, first: int) -> Iterator[int]:
    """An alert and its notification, in one transaction (as the recorder does)."""
    store = AlertStore(directory / "alerts.db", "sunshine-kg")
    store.open()
    outbox = Outbox(store)
    for n in _numbers(first):
        alert = Alert(
            "smoke", "sunshine-kg", "gw-1", f"d{n}", "smoke", "critical", "firing", BASE_MS + n
        )
        with store.transaction():
            store.save_alert(alert)
            body = {"device": f"d{n}", "state": "firing", "title": "烟雾报警"}
            outbox.add("guard", Notification(body, alert.id, 0, f"d{n}"), BASE_MS + n)
        yield n


def check_alerts(directory: Path, committed: set[int]) -> list[str]:
    """Every committed alert has its notification and no notification lacks its alert."""
    store = AlertStore(directory / "alerts.db", "sunshine-kg")
    store.open()
    alerts = {a.id: int(a.device[1:]) for a in store.alerts(active_only=False, limit=10**6)}
    queued = [row[0] for row in store.db.execute("SELECT alert_id FROM outbox").fetchall()]
    store.close()
    problems = [f"alerts: alert {a} without its notification" for a in set(alerts) - set(queued)]
    problems += [f"alerts: a notification of no alert ({a})" for a in set(queued) - set(alerts)]
    return problems + _missing("alerts", committed, set(alerts.values()))


# ---------------------------------------------------------------- people and sessions


def _people(directory: Path) -> PeopleStore:
    store = PeopleStore(directory / "people.db", ConsoleConfig(), SystemClock())
    store.open()
    return store


def write_people(directory: Path, first: int) -> Iterator[int]:
    """A person, then a session of theirs."""
    store = _people(directory)
    for n in _numbers(first):
        store.add(f"u{n}", f"值班员 {n}", "guard", f"password number {n}")
        store.log_in(f"u{n}", f"password number {n}")
        yield n


def check_people(directory: Path, committed: set[int]) -> list[str]:
    """Every committed person is there; those of the last run and
    five older ones can log in with their password (each login is an argon2 check: all of
    them after every kill would grow with the square of the kills)."""
    store = _people(directory)
    try:
        found = {int(p.login[1:]) for p in store.people()} & committed
        last_run = max(committed, default=0) // RUN_NUMBERS * RUN_NUMBERS
        older = sorted(n for n in found if n < last_run)
        rng = random.Random(len(committed))  # the same sample when a failure is replayed
        tried = {n for n in found if n >= last_run} | set(rng.sample(older, min(5, len(older))))
        refused = [n for n in sorted(tried) if not _logs_in(store, n)]
    finally:
        store.close()
    problems = [f"people: u{n} cannot log in" for n in refused]
    return problems + _missing("people", committed, found)


def _logs_in(store: PeopleStore, n: int) -> bool:
    try:
        return bool(store.log_in(f"u{n}", f"password number {n}"))
    except LoginRefused:
        return False


# ---------------------------------------------------------------- derived-hours book


def write_hours(directory: Path, first: int) -> Iterator[int]:
    """An hour booked as changed per record (the file is rewritten each time)."""
    book = DirtyHours(directory / "dirty-hours.json", {"electricity": ["electricity"]})
    for n in _numbers(first):
        book.add({"electricity": [400_000 + n]})
        yield n


def check_hours(directory: Path, committed: set[int]) -> list[str]:
    """Every committed hour is still booked; the next save leaves no temporary behind."""
    path = directory / "dirty-hours.json"
    atomicfile._cleaned.discard(path)  # as in the service's next process
    book = DirtyHours(path, {"electricity": ["electricity"]})
    book.add({"electricity": [next(_CHECK_HOURS)]})  # a new hour: the file is written
    taken = book.take()
    leftovers = [p.name for p in directory.glob(".*.tmp")]
    runs = taken.runs.get("electricity", [])
    found = {s // 3600 - 400_000 for start, end in runs for s in range(start, end, 3600)}
    problems = [f"derived hours: temporaries left behind: {leftovers}"] if leftovers else []
    return problems + _missing("derived hours", committed, found)


# ---------------------------------------------------------------- duty books


def write_duty(directory: Path, first: int) -> Iterator[int]:
    """Visitor records at the end of their book's hash chain."""
    books = DutyBooks(directory / "duty.db")
    books.open()
    for n in _numbers(first):
        books.append("visitors", BASE_MS + n, "门卫", {"n": n, "name": f"访客 {n}"})
        yield n


def check_duty(directory: Path, committed: set[int]) -> list[str]:
    """Every committed record is in the book and its chain verifies."""
    books = DutyBooks(directory / "duty.db")
    books.open()
    found = {int(r.body["n"]) for r in books.all("visitors")}
    problems = [f"duty books: {p}" for p in books.verify()]
    return problems + _missing("duty books", committed, found)


# ---------------------------------------------------------------- the edge queue


def _edge(directory: Path) -> EdgeAlarms:
    channels = {"robot": {"type": "webhook", "url": "http://127.0.0.1:9/hook"}}
    config = EdgeConfig.model_validate({"after": "1s", "channels": channels})
    path = directory / "gw.edge"
    return EdgeAlarms(
        config, "sunshine-kg", "gw-1", {}, lambda: 1.0, SystemClock(), path, "Asia/Shanghai"
    )


def write_edge(directory: Path, first: int) -> Iterator[int]:
    """Smoke alarms told while cut off: queued, recorded for the server, known as told."""
    edge = _edge(directory)
    edge.start()
    for n in _numbers(first):
        edge.observe(
            {
                "device": f"d{n}",
                "kind": "smoke",
                "ts": int(time.time() * 1000),
                "values": {"smoke": True},
            }
        )
        yield n


def check_edge(directory: Path, committed: set[int]) -> list[str]:
    """Each committed alarm is queued, recorded and known as told: all three or none."""
    with sqlite3.connect(directory / "gw.edge") as db:
        pending = {orjson.loads(b)["device"] for (b,) in db.execute("SELECT body FROM pending")}
        told = {orjson.loads(b)["device"] for (b,) in db.execute("SELECT body FROM told")}
        known = {d for (d,) in db.execute("SELECT device FROM alarms WHERE told = 1")}
    problems = []
    if not pending == told == known:
        problems.append(f"edge: queued {len(pending)}, recorded {len(told)}, known {len(known)}")
    edge = _edge(directory)
    edge.start()  # opens as the gateway does
    edge.stop()
    return problems + _missing("edge", committed, {int(d[1:]) for d in known})


# ---------------------------------------------------------------- shared


RUN_NUMBERS = 10_000  # each writer run numbers its records from run * RUN_NUMBERS


def _numbers(first: int) -> Iterator[int]:
    n = first
    while True:
        yield n
        n += 1


def _missing(store: str, committed: set[int], found: set[int]) -> list[str]:
    lost = sorted(committed - found)
    return [f"{store}: {len(lost)} committed record(s) lost, e.g. {lost[:5]}"] if lost else []


STORES: dict[str, tuple[Writer, Check]] = {
    "buffer": (write_buffer, check_buffer),
    "snapshots": (write_snapshots, check_snapshots),
    "edge": (write_edge, check_edge),
    "spool": (write_spool, check_spool),
    "alerts": (write_alerts, check_alerts),
    "people": (write_people, check_people),
    "hours": (write_hours, check_hours),
    "duty": (write_duty, check_duty),
}


def main() -> None:
    """Write records of a store until killed, saying each one once committed."""
    store, directory, first = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    writer, _check = STORES[store]
    print("ready", flush=True)
    for n in writer(directory, first):
        print(f"C {n}", flush=True)


if __name__ == "__main__":
    main()
