"""A district on a NATS cluster (SPEC §13), short form: three ``nats-server`` nodes with
JetStream and MQTT, four campuses' gateways, two ingest processes with two sites each
(their own state, client id, database and webhook). A node is SIGKILLed mid-run and started
again. Every reading the cluster acknowledged is stored by the process that serves its
site; each alarm is told once, by that process; neither process receives the other's
sites. ``python -m tests.bench.bench_district`` is the long form."""

from __future__ import annotations

import statistics
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import pytest

from demo.services import InfluxServer
from ingest.storage.influx import InfluxClient, quote_string
from tests.district.cluster import NatsCluster
from tests.district.sites import SiteGateway
from tests.harness import SMOKE_RULE, IngestProcess, config_dict, unique, wait_for
from tests.receivers import HttpReceiver, http_receiver

SERVED = {"east": ["site-1", "site-2"], "west": ["site-3", "site-4"]}


@dataclass
class Ingest:
    """One ingest process of the district and what it told."""

    name: str
    sites: list[str]
    process: IngestProcess
    db: InfluxClient
    hook: HttpReceiver


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[NatsCluster]:
    nats = NatsCluster(tmp_path / "nats")
    nats.start()
    yield nats
    nats.stop()


def _ingest(
    tmp_path: Path, name: str, first: int, cluster: NatsCluster, influxd: InfluxServer, **kw: Any
) -> dict[str, Any]:
    sites = SERVED[name]
    config = config_dict(tmp_path / name, cast(Any, _NoBroker()), influxd, **kw)
    mqtt = config["mqtt"]
    del mqtt["host"], mqtt["port"]
    mqtt["hosts"] = cluster.hosts(first)
    config["site"] = {"id": sites[0], "also_serves": sites[1:], "timezone": "Asia/Shanghai"}
    return config


class _NoBroker:
    port = 1  # replaced by mqtt.hosts


def _stored(db: InfluxClient, site: str, device: str, kind: str, field: str) -> set[int]:
    rows = db.query(
        f'SELECT "{field}" FROM "{kind}" WHERE "site" = {quote_string(site)}'
        f' AND "device" = {quote_string(device)}'
    )
    return {int(r["time"]) for r in rows}


def _told(hook: HttpReceiver) -> list[tuple[dict[str, Any], float]]:
    seen: dict[str, tuple[dict[str, Any], float]] = {}
    for request in hook.requests:
        seen.setdefault(request.headers["x-campuswatch-delivery"], (request.body, request.at))
    return list(seen.values())


def test_two_ingest_processes_share_a_cluster_through_a_node_loss(
    tmp_path: Path, cluster: NatsCluster, influxd: InfluxServer
) -> None:
    root = unique("d")
    ingests: dict[str, Ingest] = {}
    with http_receiver() as east_hook, http_receiver() as west_hook:
        for index, (name, hook) in enumerate((("east", east_hook), ("west", west_hook))):
            config = _ingest(
                tmp_path,
                name,
                index,
                cluster,
                influxd,
                topic_root=root,
                channels={"patrol": {"type": "webhook", "url": hook.url()}},
                rules=[{**SMOKE_RULE, "notify": ["patrol"]}],
            )
            (tmp_path / f"{name}-run").mkdir()
            process = IngestProcess(config, tmp_path / f"{name}-run")
            process.start()
            db = InfluxClient(influxd.url, config["influx"]["database"])
            ingests[name] = Ingest(name, SERVED[name], process, db, hook)
        time.sleep(2)  # both subscribed
        gateways = [
            SiteGateway(site, cluster.hosts(i % 3), root, per_second=20)
            for i, site in enumerate(SERVED["east"] + SERVED["west"])
        ]
        try:
            time.sleep(8)
            recovered_s = cluster.restart(0, down_s=4)  # the east ingest's node
            time.sleep(10)
        finally:
            for gateway in gateways:
                gateway.stop()
        try:
            _check(ingests, gateways, recovered_s)
        finally:
            for ingest in ingests.values():
                ingest.process.stop()
                ingest.db.close()


def _check(ingests: dict[str, Ingest], gateways: list[SiteGateway], recovered_s: float) -> None:
    by_site = {site: ingests[name] for name, sites in SERVED.items() for site in sites}
    delays: list[float] = []
    for gateway in gateways:
        delays += _check_site(by_site[gateway.site], gateway)
    for ingest in ingests.values():
        assert {body["site"] for body, _at in _told(ingest.hook)} <= set(ingest.sites)
        sites = {row["value"] for row in ingest.db.query('SHOW TAG VALUES WITH KEY = "site"')}
        assert sites == set(ingest.sites), f"{ingest.name} stored {sites}"
        assert ingest.process.metric("campus_rejected_total") == 0
    print(
        f"district: node back in {recovered_s:.1f} s; alarms told {len(delays)}, delay median"
        f" {statistics.median(delays):.2f} s, worst {max(delays):.2f} s"
    )


def _check_site(ingest: Ingest, gateway: SiteGateway) -> list[float]:
    """Every acknowledged reading of the site stored, every alarm told; the delays."""
    site = gateway.site
    acked = {s.ts for s in gateway.acked()}
    assert len(acked) > 200, f"{site}: only {len(acked)} acknowledged"
    wait_for(lambda: acked <= _stored(ingest.db, site, "fridge-1", "temperature", "celsius"), 60)
    episodes = gateway.episodes()
    wait_for(lambda: _firing(ingest, site) >= len(episodes), 60)
    return _judge_alarms(ingest, gateway, episodes)


def _firing(ingest: Ingest, site: str) -> int:
    return sum(
        1 for body, _at in _told(ingest.hook) if body["site"] == site and body["state"] == "firing"
    )


def _judge_alarms(
    ingest: Ingest, gateway: SiteGateway, episodes: list[tuple[int, int]]
) -> list[float]:
    """Each alarm episode told once as firing by the serving process; the delays."""
    told = [(b, at) for b, at in _told(ingest.hook) if b["site"] == gateway.site]
    steps = Counter((b["alert_id"], b["state"]) for b, _at in told)
    assert max(steps.values()) == 1, steps
    delays = []
    for body, at in told:
        if body["state"] != "firing":
            continue
        # started_at is in whole seconds: the episode holding that second.
        second = int(datetime.fromisoformat(body["started_at"]).timestamp() * 1000)
        episode = next(e for e in episodes if e[0] // 1000 * 1000 <= second <= e[1])
        first_on = next(s for s in gateway.sent if s.smoke and s.ts >= episode[0])
        delays.append(at - first_on.at)
    assert len(delays) == len(episodes)
    return delays
