"""The reports of one site, rendered to JSON, CSV or HTML, and the signed links to them.

Messages carry a link to the HTML page. A chat app cannot send a bearer token, so the
link is a capability: ``sig`` is an HMAC of the report and period under a key kept in
``state_dir`` (made at first start), and opens exactly that read-only page.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlencode

from gateway.clock import Clock
from ingest.config import IngestConfig
from ingest.registry import Registry
from ingest.reports import render
from ingest.reports.cold_chain import ColdChainReports
from ingest.reports.meters import MeterStore
from ingest.reports.usage import UsageReports
from ingest.rules.store import AlertStore
from ingest.storage.influx import InfluxClient
from ingest.storage.meter_hours import MeterHours

ReportName = Literal["weekly-usage", "daily-readings", "cold-chain"]
Format = Literal["json", "csv", "html"]
MEDIA_TYPES = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "html": "text/html; charset=utf-8",
}


@dataclass(frozen=True, slots=True)
class Rendered:
    """A report in one format."""

    body: str
    media_type: str


class Reports:
    """Builds and renders every report of the site."""

    def __init__(
        self,
        config: IngestConfig,
        influx: InfluxClient,
        registry: Registry,
        alerts: AlertStore,
        meter_hours: MeterHours,
        clock: Clock,
    ) -> None:
        self.config = config
        self.lang = config.site.language
        timezone = config.site.timezone
        self.usage = UsageReports(
            MeterStore(influx, registry), meter_hours, config.reports, timezone, self.lang, clock
        )
        self.cold_chain = ColdChainReports(
            influx, registry, alerts, config.reports.class_limits(), timezone
        )
        self._key_path = config.state_dir / "report-links.key"
        self._key: bytes | None = None

    def render(self, name: ReportName, period: str, fmt: Format) -> Rendered:
        """Report ``name`` of ``period`` (a week or a date) in ``fmt``."""
        if name == "weekly-usage":
            body = self._weekly(period, fmt)
        elif name == "daily-readings":
            body = self._daily(period, fmt)
        else:
            body = self._cold_chain(period, fmt)
        return Rendered(body, MEDIA_TYPES[fmt])

    @property
    def _site(self) -> str:
        return self.config.site.name or self.config.site.id

    def _weekly(self, week: str, fmt: Format) -> str:
        report = self.usage.weekly(week)
        if fmt == "csv":
            return render.weekly_csv(report, self.lang)
        if fmt == "html":
            return render.weekly_html(report, self._site, self.lang)
        return report.model_dump_json()

    def _daily(self, day: str, fmt: Format) -> str:
        report = self.usage.daily(day)
        if fmt == "csv":
            return render.daily_csv(report, self.lang)
        if fmt == "html":
            return render.daily_html(report, self._site, self.lang)
        return report.model_dump_json()

    def _cold_chain(self, day: str, fmt: Format) -> str:
        report, curves = self.cold_chain.day_with_curves(day)
        if fmt == "csv":
            return render.cold_chain_csv(report, self.lang)
        if fmt == "html":
            return render.cold_chain_html(report, curves, self._site, self.lang)
        return report.model_dump_json()

    # ------------------------------------------------------------------ links

    def signature(self, name: str, period: str) -> str:
        """The ``sig`` that opens the HTML page of ``name`` for ``period`` without a token."""
        message = f"{name}|{period}".encode()
        return hmac.new(self._link_key(), message, hashlib.sha256).hexdigest()[:32]

    def check_signature(self, name: str, period: str, sig: str) -> bool:
        """True when ``sig`` was made by :meth:`signature` for this report and period."""
        return hmac.compare_digest(self.signature(name, period), sig)

    def link(self, name: ReportName, period: str) -> str:
        """The signed URL of a report's HTML page."""
        api = self.config.api
        base = self.config.reports.base_url or f"http://{api.host}:{api.port}"
        key = "week" if name == "weekly-usage" else "date"
        query = urlencode({key: period, "format": "html", "sig": self.signature(name, period)})
        return f"{base.rstrip('/')}/api/reports/{name}?{query}"

    def _link_key(self) -> bytes:
        if self._key is None:
            self._key = _load_or_make_key(self._key_path)
        return self._key


def _load_or_make_key(path: Path) -> bytes:
    if path.exists():
        return bytes.fromhex(path.read_text().strip())
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key.hex())
    return key
