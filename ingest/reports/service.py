"""The reports of one site, rendered to JSON, CSV or HTML, and the signed links to them
(messages carry a link to the HTML page; see ingest/links.py, the signer)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlencode

from campuswatch.clock import Clock
from ingest.config import IngestConfig
from ingest.config.places import Places
from ingest.links import LinkSigner
from ingest.registry import Registry
from ingest.reports import pages, render
from ingest.reports.cold_chain import ColdChainReports, Curves
from ingest.reports.messages import cold_chain_message, daily_message, weekly_message
from ingest.reports.meters import MeterStore
from ingest.reports.models import ColdChainDay, DailyReadings, WeeklyUsage
from ingest.reports.pages import ReportPage
from ingest.reports.report_text import WORDS
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
        places: Places,
        dirty: DirtyHours | None = None,
    ) -> None:
        self.config = config
        self.places = places
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
        if fmt == "html":
            return Rendered(render.page_html(self.page(name, period), self._site), MEDIA_TYPES[fmt])
        report: WeeklyUsage | DailyReadings | ColdChainDay
        if name == "weekly-usage":
            report = self.usage.weekly(period)
        elif name == "daily-readings":
            report = self.usage.daily(period)
        else:
            report = self.cold_chain.day(period)
        body = render.table_csv(report, self.lang) if fmt == "csv" else report.model_dump_json()
        return Rendered(body, MEDIA_TYPES[fmt])

    def page(self, name: ReportName, period: str) -> ReportPage:
        """Report ``name`` of ``period`` as a page people read, its charts drawn."""
        if name == "weekly-usage":
            return self._weekly_page(self.usage.weekly(period))
        if name == "daily-readings":
            return pages.daily_page(self.usage.daily(period), self.places, self.lang)
        return self._cold_chain_page(*self.cold_chain.day_with_curves(period))

    @property
    def _site(self) -> str:
        return self.config.site.name or self.config.site.id

    def _weekly_page(self, weekly: WeeklyUsage) -> ReportPage:
        from ingest.reports.charts import weekly_charts  # noqa: PLC0415 (matplotlib: slow)

        return pages.weekly_page(weekly, self.places, self.lang, weekly_charts(weekly, self.lang))

    def _cold_chain_page(self, day: ColdChainDay, curves: Curves) -> ReportPage:
        from ingest.reports.charts import cold_chain_chart  # noqa: PLC0415

        lang = self.lang
        classes = {d.class_: WORDS.word("class", d.class_, lang) for d in day.devices}
        heading = pages.cold_chain_heading(day, lang)
        chart = cold_chain_chart(day, curves, heading, classes) if day.devices else None
        return pages.cold_chain_page(day, self.places, lang, chart)

    def delivery(self, name: ReportName, period: str) -> Delivery:
        """What a scheduled report sends: made once, then worded and rendered."""
        lang, site = self.lang, self._site
        if name == "weekly-usage":
            weekly = self.usage.weekly(period)
            return Delivery(
                *weekly_message(weekly, lang),
                render.page_html(self._weekly_page(weekly), site),
                render.table_csv(weekly, lang),
            )
        if name == "daily-readings":
            daily = self.usage.daily(period)
            return Delivery(
                *daily_message(daily, lang),
                render.page_html(pages.daily_page(daily, self.places, lang), site),
                render.table_csv(daily, lang),
            )
        day, curves = self.cold_chain.day_with_curves(period)
        return Delivery(
            *cold_chain_message(day, lang),
            render.page_html(self._cold_chain_page(day, curves), site),
            render.table_csv(day, lang),
        )

    # ------------------------------------------------------------------ links

    def check_signature(self, name: str, period: str, sig: str | None) -> bool:
        """True when ``sig`` is that of a link to report ``name`` for ``period``."""
        return self.links.check_link(sig, name, period)

    def link(self, name: ReportName, period: str) -> str:
        """The signed URL of a report's HTML page."""
        params = {self.period_key(name): period, "format": "html"}
        valid_s = int(self.config.reports.link_valid.total_seconds())
        return self.links.url(f"/api/reports/{name}", params, name, period, valid_s=valid_s)

    @staticmethod
    def period_key(name: ReportName) -> str:
        """The API's query parameter that names a report's period."""
        return "week" if name == "weekly-usage" else "date"

    def table_path(self, name: ReportName, period: str) -> str:
        """The API's path of a report's table as CSV (for a logged-in person: unsigned)."""
        return f"/api/reports/{name}?{urlencode({self.period_key(name): period, 'format': 'csv'})}"
