"""District long form (SPEC §13): ``python -m tests.bench.bench_district [--minutes 10]
[--per-second 50] [--every 60] [--readings 2]``.

The district of tests/district (three nats-server nodes, four sites' gateways, two ingest
processes with two sites each, the accounts of ``campus-ingest broker … --nats``) runs for
``--minutes``; every ``--every`` seconds the next node is SIGKILLed and started again 4 s
later. Then the same checks as the short form (exit 1 if one fails), and the figures:
envelopes published, acknowledged and stored, acknowledged but lost, alarms told and
their delay from the first "on" reading to the webhook (median, 95th percentile, worst),
and each node's time back to healthy.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from demo.services import InfluxServer
from tests.district.district import District
from tests.district.judge import check_district, intrude

SETTLE_S = 5.0


def main() -> None:
    """Run the district, print its figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--per-second", type=float, default=50.0, help="envelopes per site")
    parser.add_argument("--every", type=float, default=60.0, help="seconds between node kills")
    parser.add_argument("--readings", type=int, default=2, help="readings per envelope (>= 2)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="campus-district-") as tmp:
        work = Path(tmp)
        influxd = InfluxServer(work / "influxd")
        influxd.start()
        try:
            with District(work, influxd) as district:
                _run(district, args.minutes * 60, args.per_second, args.every, args.readings)
        finally:
            influxd.stop()


def _run(
    district: District, seconds: float, per_second: float, every: float, readings: int
) -> None:
    gateways = district.gateways(per_second, fridges=max(1, readings - 1))
    intrude(district)
    began = time.monotonic()
    recoveries: list[tuple[str, float]] = []
    settled_ms = 0
    try:
        while time.monotonic() - began + every < seconds:
            time.sleep(every)
            node = len(recoveries) % len(district.cluster.nodes)
            back_s = district.cluster.restart(node, down_s=4)
            recoveries.append((district.cluster.nodes[node].name, back_s))
            settled_ms = int((time.time() + SETTLE_S) * 1000)
        time.sleep(max(0.0, seconds - (time.monotonic() - began)))
    finally:
        for gateway in gateways:
            gateway.stop()
    delays = sorted(check_district(district, gateways, settled_ms))
    published = sum(len(g.sent) for g in gateways)
    acked = sum(len(g.acked()) for g in gateways)
    stored = sum(
        len(district.serving(g.site).stored(g.site, "fridge-1", "temperature", "celsius"))
        for g in gateways
    )
    rate = len(gateways) * per_second * max(2, readings)
    print(
        f"district: {seconds / 60:.0f} min, {len(gateways)} sites at {per_second:g} envelopes/s"
        f" of {max(2, readings)} readings ({rate:,.0f} readings/s)"
    )
    print(f"  envelopes published {published:,}, acknowledged {acked:,}, stored {stored:,}")
    print("  acknowledged but lost: 0 (checked)")
    print(
        f"  alarms told {len(delays)}: delay median {statistics.median(delays):.2f} s,"
        f" p95 {delays[int(0.95 * (len(delays) - 1))]:.2f} s, worst {delays[-1]:.2f} s"
    )
    for name, back_s in recoveries:
        print(f"  {name} killed, healthy {back_s:.1f} s after its restart")


if __name__ == "__main__":
    main()
