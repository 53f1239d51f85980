"""A district for the tests and the benchmark (SPEC §13): a three-node NATS cluster with
the accounts ``campus-ingest broker … --nats`` makes, two ingest processes serving two
sites each (own state, client id, database and webhook), and a gateway per site."""

from __future__ import annotations

import subprocess
import sys
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from demo.services import InfluxServer
from ingest.storage.influx import InfluxClient, quote_string
from tests.district.cluster import NatsCluster
from tests.district.sites import SiteGateway
from tests.harness import SMOKE_RULE, IngestProcess, config_dict, wait_for
from tests.receivers import HttpReceiver, http_receiver

SERVED = {"east": ["site-1", "site-2"], "west": ["site-3", "site-4"]}
SITES = SERVED["east"] + SERVED["west"]
ROOT = "district"


@dataclass
class Ingest:
    """One ingest process of the district and what it told."""

    name: str
    sites: list[str]
    process: IngestProcess
    db: InfluxClient
    hook: HttpReceiver

    def stored(self, site: str, device: str, kind: str, field: str) -> dict[int, Any]:
        """Time -> value of what ``device`` of ``site`` stored."""
        rows = self.db.query(
            f'SELECT "{field}" FROM "{kind}" WHERE "site" = {quote_string(site)}'
            f' AND "device" = {quote_string(device)}'
        )
        return {int(r["time"]): r[field] for r in rows}

    def told(self) -> list[tuple[dict[str, Any], float]]:
        """Bodies of the webhook, once per delivery id, with when each arrived."""
        seen: dict[str, tuple[dict[str, Any], float]] = {}
        for request in self.hook.requests:
            seen.setdefault(request.headers["x-campuswatch-delivery"], (request.body, request.at))
        return list(seen.values())


class _NoBroker:
    port = 1  # replaced by mqtt.hosts


class District:
    """Start with ``with District(workdir, influxd) as district:``."""

    def __init__(self, workdir: Path, influxd: InfluxServer) -> None:
        self.workdir = workdir
        self.influxd = influxd
        self.cluster = NatsCluster(workdir / "nats", auth=True)
        self.passwords: dict[str, str] = {}
        self.ingests: dict[str, Ingest] = {}
        self._stack = ExitStack()

    def __enter__(self) -> District:
        for site in SITES:
            self.passwords[f"{site}/gw-1"] = self._account("add-gateway", site, "gw-1")
        for name, sites in SERVED.items():
            where = [arg for site in sites for arg in ("--site", site)]
            self.passwords[name] = self._account("add-ingest", name, *where)
        self.cluster.start()
        self._stack.callback(self.cluster.stop)
        for index, name in enumerate(SERVED):
            self.ingests[name] = self._start_ingest(name, index)
        for ingest in self.ingests.values():
            wait_for(lambda i=ingest: "subscribed to" in i.process.log_text(), 30)
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stack.close()

    def gateways(self, per_second: float, fridges: int = 1) -> list[SiteGateway]:
        """A gateway per site publishing from now, each starting on another node;
        ``fridges``: readings per envelope besides the smoke detector's."""
        return [
            SiteGateway(
                site, self.cluster.hosts(i % 3), ROOT, per_second, self.password(site), fridges
            )
            for i, site in enumerate(SITES)
        ]

    def password(self, site: str) -> str:
        """The password of ``site``'s gateway account."""
        return self.passwords[f"{site}/gw-1"]

    def serving(self, site: str) -> Ingest:
        """The ingest process that serves ``site``."""
        return next(i for i in self.ingests.values() if site in i.sites)

    def _account(self, *args: str) -> str:
        """``campus-ingest broker … --nats``: the new account's password."""
        where = ("--topic-root", ROOT, "--nats", str(self.cluster.auth))
        result = subprocess.run(
            [sys.executable, "-m", "ingest.cli", "broker", *args, *where],
            capture_output=True,
            text=True,
            check=True,
        )
        return result.stdout.strip()

    def _start_ingest(self, name: str, first_node: int) -> Ingest:
        hook = self._stack.enter_context(http_receiver())
        sites = SERVED[name]
        config = config_dict(
            self.workdir / name,
            cast(Any, _NoBroker()),
            self.influxd,
            topic_root=ROOT,
            channels={"patrol": {"type": "webhook", "url": hook.url()}},
            rules=[{**SMOKE_RULE, "notify": ["patrol"]}],
        )
        mqtt = config["mqtt"]
        del mqtt["host"], mqtt["port"]
        mqtt.update(hosts=self.cluster.hosts(first_node), username=name)
        mqtt["password"] = self.passwords[name]
        config["site"] = {"id": sites[0], "also_serves": sites[1:], "timezone": "Asia/Shanghai"}
        run = self.workdir / f"{name}-run"
        run.mkdir()
        process = IngestProcess(config, run)
        process.start()
        self._stack.callback(process.stop)
        db = InfluxClient(self.influxd.url, config["influx"]["database"])
        self._stack.callback(db.close)
        return Ingest(name, sites, process, db, hook)
