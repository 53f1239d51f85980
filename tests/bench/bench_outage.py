"""A long InfluxDB outage under load: alerts keep their latency, storage loses nothing.

Run with ``python -m tests.bench.bench_outage [--minutes 10]``. A ``campus-ingest run``
process takes 1,000 routine readings/s while its influxd is stopped for ``--minutes``;
meanwhile a smoke alarm is raised (and cleared) every two seconds. Prints the smoke ->
webhook latency during the outage, the spool size and RSS at its end, and how long the
ingest needs after the database returns until every reading and alert event is stored.
``make test`` runs the same situation for 30 s (tests/ingest/test_faults.py).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from demo.services import InfluxServer, MosquittoServer
from ingest.storage.influx import InfluxClient
from tests.bench.bench_alerts import (
    ROUTINE_PER_S,
    _firing,
    _percentiles,
    alerting_ingest,
)
from tests.harness import (
    Publisher,
    SteadyPublisher,
    count_points,
    envelope,
    reading,
)
from tests.receivers import http_receiver


def main() -> None:
    """Run the outage and print what happened."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the outage")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="campus-outage-") as tmp, http_receiver() as hook:
        work = Path(tmp)
        broker, influx = MosquittoServer(work / "mq"), InfluxServer(work / "influx")
        broker.start()
        influx.start()
        proc, config = alerting_ingest(work, broker, influx, hook)
        root = config["mqtt"]["topic_root"]
        db = InfluxClient(influx.url, config["influx"]["database"])
        smoke = Publisher(broker.port)
        sent: dict[str, float] = {}
        topic = f"{root}/sunshine-kg/gw-main/readings"
        try:
            routine = f"{root}/sunshine-kg/gw-canteen/readings"
            with SteadyPublisher(broker.port, routine, 20, 20 / ROUTINE_PER_S) as load:
                time.sleep(2)
                influx.stop()
                outage_end = time.monotonic() + args.minutes * 60
                alarm = 0
                while time.monotonic() < outage_end:
                    alarm += 1
                    device, now = f"smoke-{alarm}", int(time.time() * 1000)
                    on = reading(device, "smoke", now, smoke=True)
                    off = reading(device, "smoke", now + 1, smoke=False)
                    sent[device] = time.perf_counter()
                    smoke.publish(topic, envelope("gw-main", 2 * alarm - 1, [on]))
                    time.sleep(0.2)
                    smoke.publish(topic, envelope("gw-main", 2 * alarm, [off]))
                    time.sleep(1.8)
                spool_mb = proc.metric("campus_spool_bytes") / 2**20
                rss = proc.rss_mb()
                delivered = _firing(hook)
                influx.start()
                back = time.perf_counter()
            total = load.sent
            deadline = time.monotonic() + 600
            while count_points(db, "temperature", "celsius") < total:
                if time.monotonic() > deadline:
                    raise SystemExit("not every reading was stored within 10 minutes")
                time.sleep(1)
            caught_up = time.perf_counter() - back
            events = count_points(db, "alert_event", "alert_id")
            stored = count_points(db, "temperature", "celsius")
        finally:
            smoke.close()
            proc.stop()
            db.close()
            broker.stop()
            influx.stop()
    late = [d for d in sent if d not in delivered]
    p50, p99 = _percentiles([(delivered[d] - sent[d]) * 1000 for d in sent if d in delivered])
    print(
        f"outage {args.minutes:g} min under {ROUTINE_PER_S:,} readings/s: {len(sent)} smoke alarms"
    )
    print(
        f"  smoke -> webhook during the outage: p50 {p50:.1f} ms, p99 {p99:.1f} ms;"
        f" not delivered during the outage: {len(late)}"
    )
    print(f"  at the end of the outage: spool {spool_mb:.0f} MB, ingest RSS {rss:.0f} MB")
    print(
        f"  readings sent {total:,}, stored {stored:,};"
        f" alert events stored {events} (expected {3 * len(sent)})"
    )
    print(f"  everything stored {caught_up:.0f} s after InfluxDB came back")


if __name__ == "__main__":
    main()
