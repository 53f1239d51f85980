"""Reports in the console (SPEC §9 v3): ``/reports`` lists them with their recent periods,
``/reports/{name}/{period}`` shows one as a phone page (see ``reports/pages.py``)."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse

from ingest.errors import StorageError
from ingest.reports import pages as reports
from ingest.reports.periods import PeriodError, week_of
from ingest.reports.report_text import say as report_say
from ingest.reports.service import ReportName
from ingest.web.console.page_text import say
from ingest.web.console.routes.common import pages
from ingest.web.deps import PersonDep, ServiceDep

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
PeriodPath = Annotated[str, Path(max_length=16)]


@router.get("/reports", response_class=HTMLResponse)
def report_list(request: Request, service: ServiceDep, person: PersonDep) -> HTMLResponse:
    """Each report with its latest periods."""
    lang, tz = service.config.site.language, ZoneInfo(service.config.site.timezone)
    today = service.site_now().date()
    weeks = [week_of(today - timedelta(days=7 * n), tz) for n in (1, 0, 2)]
    days = [today - timedelta(days=n) for n in (1, 2, 3)]
    groups = [
        (
            report_say("report.weekly", lang),
            [
                (
                    f"/reports/weekly-usage/{w.label}",
                    reports.week_label(w.label, w.start.isoformat(), w.end.isoformat(), lang),
                )
                for w in weeks
            ],
        ),
        (
            report_say("report.daily", lang),
            [
                (f"/reports/daily-readings/{d}", reports.day_label(d.isoformat(), lang))
                for d in days
            ],
        ),
        (
            report_say("report.cold_chain", lang),
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
        page = service.reports.page(name, period)
    except PeriodError as exc:
        title_text = say("not_found.title", lang)
        return pages(request).message(request, person, 422, title_text, str(exc), back="/reports")
    except StorageError as exc:  # the cause goes to the log
        log.warning("report page %s %s: %s", name, period, exc)
        text = say("device.no_history", lang)
        return pages(request).message(request, person, 503, say("reports.title", lang), text)
    csv_url = service.reports.table_path(name, period)
    return pages(request).page(
        request, "report.html", person, title=page.heading, report=page, csv_url=csv_url
    )
