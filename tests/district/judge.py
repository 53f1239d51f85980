"""What a district run must show (SPEC §13): every reading the cluster acknowledged stored
by the process serving its site; alarms told once, by that process; nothing of the other
process's sites, nor of a gateway publishing as another."""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from campuswatch.brokers import parse_host_port
from tests.district.district import ROOT, District, Ingest
from tests.district.sites import SiteGateway
from tests.harness import envelope, reading, wait_for


def check_district(district: District, gateways: list[SiteGateway], settled_ms: int) -> list[float]:
    """Everything §13 promises of a run (asserted); the alarm delays (s)."""
    delays: list[float] = []
    for gateway in gateways:
        delays += _check_site(district.serving(gateway.site), gateway, settled_ms)
    ingests = district.ingests
    for ingest in ingests.values():
        assert {body["site"] for body, _at in ingest.told()} <= set(ingest.sites)
        sites = {row["value"] for row in ingest.db.query('SHOW TAG VALUES WITH KEY = "site"')}
        assert sites == set(ingest.sites), f"{ingest.name} stored {sites}"
        assert not ingest.db.query('SELECT * FROM "temperature" WHERE "device" = \'intruder\'')
        assert ingest.process.metric("campus_rejected_total") == 0
    own = 'SELECT * FROM "temperature" WHERE "device" = \'intruder-own\''
    assert ingests["east"].db.query(own)  # the same account on its own topic: stored
    return delays


def intrude(district: District) -> None:
    """site-1's gateway publishes as site-2's: the cluster drops it (its account may use
    its own topics only); on its own topic it is stored (checked by check_district)."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="intruder")
    client.username_pw_set("site-1/gw-1", district.password("site-1"))
    client.connect(*parse_host_port(district.cluster.hosts()[0]))
    client.loop_start()
    now = int(time.time() * 1000)
    batch = envelope("gw-1", 1, [reading("intruder", "temperature", now, celsius=99.0)])
    client.publish(f"{ROOT}/site-2/gw-1/readings", batch, qos=1).wait_for_publish(10)
    own = envelope("gw-1", 2, [reading("intruder-own", "temperature", now, celsius=9.0)])
    client.publish(f"{ROOT}/site-1/gw-1/readings", own, qos=1).wait_for_publish(10)
    client.disconnect()
    client.loop_stop()


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
            return acked <= set(ingest.stored(site, d, k, f))

        wait_for(kept, 60)
    # Runs of "on" among the stored readings. Around the node loss an "off" the cluster
    # never acknowledged joins two runs, and a redelivered reading may come after newer
    # ones (the rules take it as old news): only the runs after it settled are counted.
    episodes = _runs(ingest.stored(site, "smoke-1", "smoke", "smoke"))
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
        for body, _at in ingest.told()
        if body["site"] == site
        and body["state"] in ("firing", "late")
        and _began(body) >= since_ms // 1000 * 1000
    )


def _judge_alarms(
    ingest: Ingest, gateway: SiteGateway, episodes: list[tuple[int, int]], settled_ms: int
) -> list[float]:
    """No step told twice; each alarm told began with a stored run of "on"; each run after
    the cluster settled told once; the delays from its first "on" to the webhook."""
    told = [(b, at) for b, at in ingest.told() if b["site"] == gateway.site]
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
