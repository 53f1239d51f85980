"""A district on a NATS cluster (SPEC §13), short form: three ``nats-server`` nodes with
JetStream and MQTT, four campuses' gateways, two ingest processes with two sites each
(their own state, client id, database and webhook). A node is SIGKILLed mid-run and started
again. Every reading the cluster acknowledged is stored by the process that serves its
site; each alarm is told once, by that process; neither process receives the other's
sites. ``python -m tests.bench.bench_district`` is the long form."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from campuswatch.brokers import parse_host_port
from demo.services import InfluxServer
from ingest.storage.influx import InfluxClient, quote_string
from tests.district.cluster import NatsCluster
from tests.district.sites import SiteGateway
from tests.harness import SMOKE_RULE, IngestProcess, config_dict, envelope, reading, wait_for
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


ROOT = "district"


def _account(*args: str) -> str:
    """``campus-ingest broker … --nats``: the new account's password."""
    result = subprocess.run(
        [sys.executable, "-m", "ingest.cli", "broker", *args, "--topic-root", ROOT],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[NatsCluster]:
    nats = NatsCluster(tmp_path / "nats", auth=True)
    for site in SERVED["east"] + SERVED["west"]:
        PASSWORDS[f"{site}/gw-1"] = _account("add-gateway", site, "gw-1", "--nats", str(nats.auth))
    for name, sites in SERVED.items():
        where = [arg for site in sites for arg in ("--site", site)]
        PASSWORDS[name] = _account("add-ingest", name, *where, "--nats", str(nats.auth))
    nats.start()
    yield nats
    nats.stop()


PASSWORDS: dict[str, str] = {}


def _ingest(
    tmp_path: Path, name: str, first: int, cluster: NatsCluster, influxd: InfluxServer, **kw: Any
) -> dict[str, Any]:
    sites = SERVED[name]
    config = config_dict(tmp_path / name, cast(Any, _NoBroker()), influxd, **kw)
    mqtt = config["mqtt"]
    del mqtt["host"], mqtt["port"]
    mqtt["hosts"] = cluster.hosts(first)
    mqtt["username"], mqtt["password"] = name, PASSWORDS[name]
    config["site"] = {"id": sites[0], "also_serves": sites[1:], "timezone": "Asia/Shanghai"}
    return config


class _NoBroker:
    port = 1  # replaced by mqtt.hosts


def _stored(db: InfluxClient, site: str, device: str, kind: str, field: str) -> dict[int, Any]:
    """Time -> value of what ``device`` of ``site`` stored."""
    rows = db.query(
        f'SELECT "{field}" FROM "{kind}" WHERE "site" = {quote_string(site)}'
        f' AND "device" = {quote_string(device)}'
    )
    return {int(r["time"]): r[field] for r in rows}


def _told(hook: HttpReceiver) -> list[tuple[dict[str, Any], float]]:
    seen: dict[str, tuple[dict[str, Any], float]] = {}
    for request in hook.requests:
        seen.setdefault(request.headers["x-campuswatch-delivery"], (request.body, request.at))
    return list(seen.values())


def test_two_ingest_processes_share_a_cluster_through_a_node_loss(
    tmp_path: Path, cluster: NatsCluster, influxd: InfluxServer
) -> None:
    root = ROOT
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
        for ingest in ingests.values():
            wait_for(lambda i=ingest: "subscribed to" in i.process.log_text(), 30)
        gateways = [
            SiteGateway(site, cluster.hosts(i % 3), root, 20, PASSWORDS[f"{site}/gw-1"])
            for i, site in enumerate(SERVED["east"] + SERVED["west"])
        ]
        _intrude(cluster, root)
        try:
            time.sleep(8)
            recovered_s = cluster.restart(0, down_s=4)  # the east ingest's node
            settled_ms = int(time.time() * 1000) + 5000  # redeliveries done by then
            time.sleep(10)
        finally:
            for gateway in gateways:
                gateway.stop()
        try:
            _check(ingests, gateways, recovered_s, settled_ms)
        finally:
            for ingest in ingests.values():
                ingest.process.stop()
                ingest.db.close()


def _intrude(cluster: NatsCluster, root: str) -> None:
    """site-1's gateway publishes as site-2's: the cluster drops it (its account may use
    its own topics only)."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="intruder")
    client.username_pw_set("site-1/gw-1", PASSWORDS["site-1/gw-1"])
    client.connect(*parse_host_port(cluster.hosts()[0]))
    client.loop_start()
    now = int(time.time() * 1000)
    batch = envelope("gw-1", 1, [reading("intruder", "temperature", now, celsius=99.0)])
    client.publish(f"{root}/site-2/gw-1/readings", batch, qos=1).wait_for_publish(10)
    own = envelope("gw-1", 2, [reading("intruder-own", "temperature", now, celsius=9.0)])
    client.publish(f"{root}/site-1/gw-1/readings", own, qos=1).wait_for_publish(10)
    client.disconnect()
    client.loop_stop()


def _check(
    ingests: dict[str, Ingest], gateways: list[SiteGateway], recovered_s: float, settled_ms: int
) -> None:
    by_site = {site: ingests[name] for name, sites in SERVED.items() for site in sites}
    delays: list[float] = []
    for gateway in gateways:
        delays += _check_site(by_site[gateway.site], gateway, settled_ms)
    for ingest in ingests.values():
        assert {body["site"] for body, _at in _told(ingest.hook)} <= set(ingest.sites)
        sites = {row["value"] for row in ingest.db.query('SHOW TAG VALUES WITH KEY = "site"')}
        assert sites == set(ingest.sites), f"{ingest.name} stored {sites}"
        assert not ingest.db.query('SELECT * FROM "temperature" WHERE "device" = \'intruder\'')
        assert ingest.process.metric("campus_rejected_total") == 0
    own = 'SELECT * FROM "temperature" WHERE "device" = \'intruder-own\''
    assert ingests["east"].db.query(own)  # the same account on its own topic: stored
    print(
        f"district: node back in {recovered_s:.1f} s; alarms told {len(delays)}, delay median"
        f" {statistics.median(delays):.2f} s, worst {max(delays):.2f} s"
    )


def _check_site(ingest: Ingest, gateway: SiteGateway, settled_ms: int) -> list[float]:
    """Every acknowledged reading of the site stored; every alarm told of began with a
    stored "on" reading; once the cluster settled, every alarm told once; the delays."""
    site = gateway.site
    acked = {s.ts for s in gateway.acked()}
    assert len(acked) > 200, f"{site}: only {len(acked)} acknowledged"
    for device, kind, field in (
        ("fridge-1", "temperature", "celsius"),
        ("smoke-1", "smoke", "smoke"),
    ):

        def kept(d: str = device, k: str = kind, f: str = field) -> bool:
            return acked <= set(_stored(ingest.db, site, d, k, f))

        wait_for(kept, 60)
    # Runs of "on" among the stored readings. Around the node loss an "off" the cluster
    # never acknowledged joins two runs, and a redelivered reading may come after newer
    # ones (the rules take it as old news): only the runs after it settled are counted.
    episodes = _runs(_stored(ingest.db, site, "smoke-1", "smoke", "smoke"))
    settled = [e for e in episodes if e[0] >= settled_ms]
    assert settled, f"{site}: no alarm after the node came back"
    wait_for(lambda: _firing(ingest, site, settled_ms) >= len(settled), 60)
    return _judge_alarms(ingest, gateway, episodes, settled_ms)


def _runs(stored: dict[int, Any]) -> list[tuple[int, int]]:
    runs: list[list[int]] = []
    previous = False
    for ts in sorted(stored):
        if stored[ts] and previous:
            runs[-1].append(ts)
        elif stored[ts]:
            runs.append([ts])
        previous = bool(stored[ts])
    return [(run[0], run[-1]) for run in runs]


def _began(body: dict[str, Any]) -> int:
    """``started_at`` (whole seconds) in epoch ms."""
    return int(datetime.fromisoformat(body["started_at"]).timestamp() * 1000)


def _firing(ingest: Ingest, site: str, since_ms: int) -> int:
    return sum(
        1
        for body, _at in _told(ingest.hook)
        if body["site"] == site
        and body["state"] in ("firing", "late")
        and _began(body) >= since_ms // 1000 * 1000
    )


def _judge_alarms(
    ingest: Ingest, gateway: SiteGateway, episodes: list[tuple[int, int]], settled_ms: int
) -> list[float]:
    """No step told twice; each alarm told began with a stored run of "on"; each run after
    the cluster settled told once; the delays from its first "on" to the webhook."""
    told = [(b, at) for b, at in _told(ingest.hook) if b["site"] == gateway.site]
    steps = Counter((b["alert_id"], b["state"]) for b, _at in told)
    assert max(steps.values()) == 1, steps
    delays, runs_told = [], Counter[tuple[int, int]]()
    for body, at in told:
        if body["state"] not in ("firing", "late"):
            continue
        second = _began(body)  # the run holding that second
        episode = next(e for e in episodes if e[0] // 1000 * 1000 <= second <= e[1])
        runs_told[episode] += 1
        first_on = next(s for s in gateway.sent if s.smoke and s.ts >= episode[0])
        delays.append(at - first_on.at)
    for episode in episodes:
        if episode[0] >= settled_ms:
            assert runs_told[episode] == 1, (gateway.site, episode, runs_told[episode])
    return delays
