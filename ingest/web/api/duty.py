"""The duty books' API (SPEC §11): who is on duty now and the roster; more books follow."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Body, HTTPException, Query, status

from ingest.duty.roster import DutyNow, RosterEntry, RosterRefused
from ingest.web.deps import Admin, ServiceDep, Viewer

router = APIRouter()
MAX_DAYS = 62  # a roster page asks for two months at most
MAX_ENTRIES = 31 * 10  # a month of ten shifts in one change


@router.get("/api/duty/now")
def on_duty_now(service: ServiceDep, _caller: Viewer) -> DutyNow:
    """The shift that covers now and its people (empty: nobody is on duty)."""
    return service.duty.roster.now()


@router.get("/api/duty/roster")
def roster(
    service: ServiceDep,
    _caller: Viewer,
    first: Annotated[date | None, Query(alias="from")] = None,
    last: Annotated[date | None, Query(alias="to")] = None,
) -> list[RosterEntry]:
    """Every shift of the days ``from``..``to`` (default: today and the 13 days after),
    empty ones included."""
    today = datetime.fromtimestamp(service.clock.time(), ZoneInfo(service.config.site.timezone))
    first = first or today.date()
    last = last or first + timedelta(days=13)
    if last < first or (last - first).days >= MAX_DAYS:
        raise HTTPException(422, f"'to' must be on or after 'from', at most {MAX_DAYS} days on")
    return service.duty.roster.entries(first, last)


@router.put("/api/duty/roster")
def put_roster(
    service: ServiceDep,
    caller: Admin,
    entries: Annotated[list[RosterEntry], Body(max_length=MAX_ENTRIES)],
) -> list[RosterEntry]:
    """Replace the entries listed, keep the others (``people: []`` empties a shift)."""
    try:
        return service.duty.roster.put(entries, caller.name)
    except RosterRefused as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, str(exc)) from exc
