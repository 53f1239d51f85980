"""The reports of one site, rendered to JSON, CSV or HTML, and the signed links to them
(messages carry a link to the HTML page; see ingest/links.py, the signer)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from campuswatch.clock import Clock
from ingest.config import IngestConfig
from ingest.links import LinkSigner
from ingest.registry import Registry
from ingest.reports import render
from ingest.reports.cold_chain import ColdChainReports
from ingest.reports.messages import cold_chain_message, daily_message, weekly_message
from ingest.reports.meters import MeterStore
from ingest.reports.usage import UsageReports
from ingest.rules.store import AlertStore
from ingest.storage.dirty import DirtyHours
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
class Delivery:
    """A report as a message: its title and key figures, its page and its table."""

    title: str
    text: str
    html: str
    csv: str


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
        links: LinkSigner,
        dirty: DirtyHours | None = None,
    ) -> None:
        self.config = config
        self.lang = config.site.language
        timezone = config.site.timezone
        self.usage = UsageReports(
            MeterStore(influx, registry),
            meter_hours,
            config.reports,
            timezone,
            self.lang,
            clock,
            dirty,
        )
        self.cold_chain = ColdChainReports(
            influx, registry, alerts, config.reports.class_limits(), timezone
        )
        self.links = links

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

    def delivery(self, name: ReportName, period: str) -> Delivery:
        """What a scheduled report sends: made once, then worded and rendered."""
        lang, site = self.lang, self._site
        if name == "weekly-usage":
            weekly = self.usage.weekly(period)
            return Delivery(
                *weekly_message(weekly, lang),
                render.weekly_html(weekly, site, lang),
                render.weekly_csv(weekly, lang),
            )
        if name == "daily-readings":
            daily = self.usage.daily(period)
            return Delivery(
                *daily_message(daily, lang),
                render.daily_html(daily, site, lang),
                render.daily_csv(daily, lang),
            )
        day, curves = self.cold_chain.day_with_curves(period)
        return Delivery(
            *cold_chain_message(day, lang),
            render.cold_chain_html(day, curves, site, lang),
            render.cold_chain_csv(day, lang),
        )

    # ------------------------------------------------------------------ links

    def check_signature(self, name: str, period: str, sig: str | None) -> bool:
        """True when ``sig`` is that of a link to report ``name`` for ``period``."""
        return self.links.check_link(sig, name, period)

    def link(self, name: ReportName, period: str) -> str:
        """The signed URL of a report's HTML page."""
        key = "week" if name == "weekly-usage" else "date"
        params = {key: period, "format": "html"}
        valid_s = int(self.config.reports.link_valid.total_seconds())
        return self.links.url(f"/api/reports/{name}", params, name, period, valid_s=valid_s)
