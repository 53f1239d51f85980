"""A district on a NATS cluster (SPEC §13), short form: three ``nats-server`` nodes with
JetStream and MQTT, four campuses' gateways, two ingest processes with two sites each
(their own state, client id, database and webhook). A node is SIGKILLed mid-run and started
again. Every reading the cluster acknowledged is stored by the process that serves its
site; each alarm is told once, by that process; neither process receives the other's
sites. ``python -m tests.bench.bench_district`` is the long form."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from demo.services import InfluxServer
from tests.district.district import District
from tests.district.judge import check_district, intrude


def test_two_ingest_processes_share_a_cluster_through_a_node_loss(
    tmp_path: Path, influxd: InfluxServer
) -> None:
    with District(tmp_path, influxd) as district:
        gateways = district.gateways(per_second=20)
        intrude(district)
        try:
            time.sleep(8)
            recovered_s = district.cluster.restart(0, down_s=4)  # the east ingest's node
            settled_ms = int(time.time() * 1000) + 5000  # redeliveries done by then
            time.sleep(10)
        finally:
            for gateway in gateways:
                gateway.stop()
        delays = check_district(district, gateways, settled_ms)
    print(
        f"district: node back in {recovered_s:.1f} s; alarms told {len(delays)}, delay median"
        f" {statistics.median(delays):.2f} s, worst {max(delays):.2f} s"
    )
