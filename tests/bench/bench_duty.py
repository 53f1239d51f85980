"""Duty books benchmark: the handover draft and the pages of a month of records.

Run with ``python -m tests.bench.bench_duty``. A service (in this process, on real
mosquitto and influxd) gets a month of duty records written the way the service writes
them: two shifts a day on the roster, five rounds a day over three checkpoints, four meals
of samples, twenty visitors a day, 120 work orders (the service's and people's) with
their state changes, two handovers a day, and 200 alerts. It prints the server time and
bytes of ``GET /api/duty/handover/draft``, the board and each duty page, beside
``GET /api/health`` on the same connection (the floor of any request).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from campuswatch.protocol import DeviceInfo
from demo.services import InfluxServer, MosquittoServer
from ingest.app import IngestService
from ingest.config import IngestConfig
from ingest.duty.roster import RosterEntry
from ingest.rules.model import Alert
from ingest.web.app import create_api
from tests.clock import ManualClock
from tests.harness import config_dict
from tests.ingest.reports.data import local
from tests.ingest.web.console.web import log_in

DAYS = 31
DUTY = {
    "shifts": {"day": {"from": "07:00", "to": "19:00"}, "night": {"from": "19:00", "to": "07:00"}},
    "checkpoints": [
        {"id": "gate", "name": "大门", "place": "gate"},
        {"id": "kitchen", "name": "厨房", "place": "canteen/kitchen"},
        {"id": "main", "name": "教学楼", "place": "main"},
    ],
    "rounds": [
        {
            "id": "round",
            "at": ["07:30", "12:00", "17:00", "21:00", "23:30"],
            "checkpoints": ["gate", "kitchen", "main"],
        }
    ],
}


def _fill(service: IngestService, start: date) -> None:
    """A month of records, written through the books as the service writes them."""
    duty, books = service.duty, service.duty.books
    people = ["zhang", "li"]
    for i, login in enumerate(people):
        service.people.add(login, f"值班{i}", "guard", "bench password 1")
    days = [start + timedelta(days=d) for d in range(DAYS)]
    duty.roster.put(
        [
            RosterEntry(date=d, shift=s, people=[people[n % 2]])
            for n, d in enumerate(days)
            for s in ("day", "night")
        ],
        "王主任",
    )
    info = DeviceInfo(device="door-1", kind="door", name="后门", tags={"building": "main"})
    service.registry.update_meta("sunshine-kg", "gw-main", [info])
    for n, day in enumerate(days):
        base = int(local(f"{day} 00:00").timestamp() * 1000)
        for at in (7 * 60 + 35, 12 * 60 + 5, 17 * 60 + 5, 21 * 60 + 5, 23 * 60 + 35):
            for k, cp in enumerate(("gate", "kitchen", "main")):
                books.append(
                    "visits", base + (at + k) * 60_000, "值班0", {"checkpoint": cp, "note": ""}
                )
        for meal, hour in (("breakfast", 7), ("lunch", 11), ("snack", 15), ("dinner", 17)):
            body = {
                "meal": meal,
                "dishes": [{"name": "菜", "grams": 150}] * 4,
                "fridge": "sample-fridge",
                "taken_at": base + hour * 3600_000,
            }
            books.append("samples", base + hour * 3600_000, "赵阿姨", body)
        for v in range(20):
            visitor = {
                "name": f"访客{v}",
                "phone": "13812345678",
                "visiting": "食堂",
                "approved_by": "园长",
                "snapshot": False,
            }
            record = books.append("visitors", base + (9 * 60 + v * 10) * 60_000, "值班0", visitor)
            books.follow_up("visitors.out", record, record.at_ms + 3600_000, "值班0", {}, once=True)
        for h, hour in enumerate((7, 19)):
            books.append(
                "handovers", base + hour * 3600_000, people[h], {"note": "正常", "draft": {}}
            )
        for w in range(4):
            order = {
                "title": f"维修 {n}-{w}",
                "device": None,
                "note": "",
                "mute_until": None,
                "key": None,
                "problem": None,
            }
            record = books.append("workorders", base + (10 + w) * 3600_000, "值班0", order)
            if w < 3:
                books.follow_up(
                    "workorders.state",
                    record,
                    record.at_ms + 3600_000,
                    "值班0",
                    {"state": "done", "note": ""},
                )
        for a in range(7):
            fired = base + (8 + a) * 3600_000
            alert = Alert(
                rule="smoke",
                site="sunshine-kg",
                gateway="gw-main",
                device=f"smoke-{a}",
                kind="smoke",
                severity="critical",
                state="resolved",
                since_ms=fired,
                started_ms=fired,
                resolved_ms=fired + 60_000,
                title="烟雾报警",
            )
            with service.alert_store.transaction():
                service.alert_store.save_alert(alert)


def _timed(client: TestClient, path: str, rounds: int = 20) -> tuple[float, int]:
    client.get(path)
    times = []
    size = 0
    for _ in range(rounds):
        started = time.perf_counter()
        answer = client.get(path)
        times.append(time.perf_counter() - started)
        assert answer.status_code == 200, (path, answer.status_code)
        size = len(answer.content)
    return statistics.median(times) * 1000, size


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        broker, influxd = MosquittoServer(tmp / "mq"), InfluxServer(tmp / "influx")
        broker.start()
        influxd.start()
        try:
            config = config_dict(tmp / "state", broker, influxd, duty=DUTY)
            start = date(2026, 11, 7)
            clock = ManualClock(local("2026-12-07 20:00").timestamp())
            service = IngestService(IngestConfig.model_validate(config), clock)
            service.start()
            _fill(service, start)
            with TestClient(create_api(service)) as client:
                log_in(client, "zhang", "bench password 1")
                floor, _ = _timed(client, "/api/health")
                print(f"raw: GET /api/health on the same connection: {floor:.1f} ms")
                print(f"a month of duty records ({DAYS} days) in {tmp / 'state' / 'duty.db'}")
                for path in (
                    "/api/duty/handover/draft",
                    "/",
                    "/duty",
                    "/duty/handover",
                    "/duty/rounds",
                    "/duty/visitors",
                    "/duty/samples",
                    "/duty/workorders",
                    "/duty/roster",
                ):
                    ms, size = _timed(client, path)
                    ratio = ms / floor
                    print(f"GET {path}: {ms:.1f} ms, {size / 1024:.0f} KB ({ratio:.1f}× the floor)")
            service.stop()
        finally:
            broker.stop()
            influxd.stop()


if __name__ == "__main__":
    main()
