"""Report endpoints (SPEC §6, §7): JSON by default, ``format=csv`` or ``format=html``.

A viewer token opens every report; a signed link (``sig``, sent in report messages)
opens exactly the report and period it was made for.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from fastapi.security import HTTPAuthorizationCredentials

from ingest.app import IngestService
from ingest.errors import StorageError
from ingest.reports.models import ColdChainDay, DailyReadings, WeeklyUsage
from ingest.reports.periods import PeriodError, week_of
from ingest.reports.service import Format, ReportName
from ingest.web.deps import Credentials, ServiceDep, authorize

log = logging.getLogger(__name__)
router = APIRouter()
FormatQuery = Annotated[Format, Query(description="json (default), csv or html")]
SigQuery = Annotated[str | None, Query(description="signature of a link from a report message")]
WeekQuery = Annotated[str | None, Query(description="ISO week, e.g. 2026-W47 (default: last week)")]
DateQuery = Annotated[str | None, Query(description="YYYY-MM-DD (default: yesterday)")]


def _yesterday(service: IngestService) -> date:
    return service.site_now().date() - timedelta(days=1)


def _serve(
    request: Request,
    service: IngestService,
    name: ReportName,
    period: str,
    fmt: Format,
    sig: str | None,
    credentials: HTTPAuthorizationCredentials | None,
) -> Response:
    if sig is None or not service.reports.check_signature(name, period, sig):
        authorize(request, service, credentials, "viewer")
    try:
        rendered = service.reports.render(name, period, fmt)
    except PeriodError as exc:
        raise HTTPException(422, str(exc)) from exc
    except StorageError as exc:  # the cause goes to the log, not to the caller
        log.warning("report %s %s: %s", name, period, exc)
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "the database cannot answer now: try later"
        ) from exc
    headers = {}
    if fmt == "csv":
        headers["Content-Disposition"] = f'attachment; filename="{name}-{period}.csv"'
    return Response(rendered.body, media_type=rendered.media_type, headers=headers)


def _doc(model: type[Any]) -> dict[int | str, dict[str, Any]]:
    return {200: {"model": model, "content": {"text/csv": {}, "text/html": {}}}}


@router.get("/api/reports/weekly-usage", response_class=Response, responses=_doc(WeeklyUsage))
def weekly_usage(
    request: Request,
    service: ServiceDep,
    credentials: Credentials,
    week: WeekQuery = None,
    format: FormatQuery = "json",  # noqa: A002 (the query parameter's name)
    sig: SigQuery = None,
) -> Response:
    """Water and electricity use per meter and building for an ISO week (site time)."""
    if week is None:
        tz = ZoneInfo(service.config.site.timezone)
        week = week_of(_yesterday(service) - timedelta(days=6), tz).label
    return _serve(request, service, "weekly-usage", week, format, sig, credentials)


@router.get("/api/reports/daily-readings", response_class=Response, responses=_doc(DailyReadings))
def daily_readings(
    request: Request,
    service: ServiceDep,
    credentials: Credentials,
    date: DateQuery = None,
    format: FormatQuery = "json",  # noqa: A002
    sig: SigQuery = None,
) -> Response:
    """Each meter's reading at the start and end of a day and the day's use."""
    day = date or _yesterday(service).isoformat()
    return _serve(request, service, "daily-readings", day, format, sig, credentials)


@router.get("/api/reports/cold-chain", response_class=Response, responses=_doc(ColdChainDay))
def cold_chain(
    request: Request,
    service: ServiceDep,
    credentials: Credentials,
    date: DateQuery = None,
    format: FormatQuery = "json",  # noqa: A002
    sig: SigQuery = None,
) -> Response:
    """Every classed fridge and freezer's day: min, max, mean, minutes out of range, alerts."""
    day = date or _yesterday(service).isoformat()
    return _serve(request, service, "cold-chain", day, format, sig, credentials)
