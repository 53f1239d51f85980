"""Reports in the console (SPEC §9 v3): ``/reports`` lists them with their recent periods,
``/reports/{name}/{period}`` shows one as a phone page (see ``console/reports.py``)."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse

from ingest.app import IngestService
from ingest.errors import StorageError
from ingest.reports.periods import PeriodError, week_of
from ingest.reports.report_text import title
from ingest.reports.service import ReportName
from ingest.web.console import reports
from ingest.web.console.page_text import say
from ingest.web.console.routes.common import pages
from ingest.web.deps import PersonDep, ServiceDep

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
PeriodPath = Annotated[str, Path(max_length=16)]


def _today(service: IngestService) -> date:
    tz = ZoneInfo(service.config.site.timezone)
    return datetime.fromtimestamp(service.clock.time(), tz).date()


@router.get("/reports", response_class=HTMLResponse)
def report_list(request: Request, service: ServiceDep, person: PersonDep) -> HTMLResponse:
    """Each report with its latest periods."""
    lang, tz = service.config.site.language, ZoneInfo(service.config.site.timezone)
    today = _today(service)
    weeks = [week_of(today - timedelta(days=7 * n), tz) for n in (1, 0, 2)]
    days = [today - timedelta(days=n) for n in (1, 2, 3)]
    groups = [
        (
            say("report.weekly", lang),
            [
                (
                    f"/reports/weekly-usage/{w.label}",
                    reports.week_label(w.label, w.start.isoformat(), w.end.isoformat(), lang),
                )
                for w in weeks
            ],
        ),
        (
            say("report.daily", lang),
            [
                (f"/reports/daily-readings/{d}", reports.day_label(d.isoformat(), lang))
                for d in days
            ],
        ),
        (
            say("report.cold_chain", lang),
            [(f"/reports/cold-chain/{d}", reports.day_label(d.isoformat(), lang)) for d in days],
        ),
    ]
    return pages(request).page(
        request, "reports.html", person, title=say("reports.title", lang), groups=groups
    )


@router.get("/reports/{name}/{period}", response_class=HTMLResponse)
def report_page(
    request: Request, service: ServiceDep, person: PersonDep, name: ReportName, period: PeriodPath
) -> HTMLResponse:
    """One report as a phone page."""
    lang = service.config.site.language
    try:
        page = _page(service, name, period, lang)
    except PeriodError as exc:
        title_text = say("not_found.title", lang)
        return pages(request).message(request, person, 422, title_text, str(exc), back="/reports")
    except StorageError as exc:  # the cause goes to the log
        log.warning("report page %s %s: %s", name, period, exc)
        text = say("device.no_history", lang)
        return pages(request).message(request, person, 503, say("reports.title", lang), text)
    return pages(request).page(request, "report.html", person, title=page.heading, report=page)


def _page(service: IngestService, name: ReportName, period: str, lang: str) -> reports.ReportPage:
    from ingest.reports.charts import cold_chain_chart, weekly_chart  # noqa: PLC0415 (slow)

    places = service.places
    made = service.reports
    if name == "weekly-usage":
        weekly = made.usage.weekly(period)
        labels = (title("this_week", lang), title("last_week", lang), title("per_day", lang))
        charts = {
            title(kind, lang): weekly_chart(weekly, kind, title(kind, lang), labels)
            for kind in ("electricity", "water")
            if any(m.kind == kind and m.consumption is not None for m in weekly.meters)
        }
        return reports.weekly_page(weekly, places, lang, charts)
    if name == "daily-readings":
        return reports.daily_page(made.usage.daily(period), places, lang)
    day, curves = made.cold_chain.day_with_curves(period)
    classes = {d.class_: title(d.class_, lang) for d in day.devices}
    chart = (
        cold_chain_chart(day, curves, title("cold_chain", lang), classes) if day.devices else None
    )
    return reports.cold_chain_page(day, places, lang, chart)
