"""The duty API (SPEC §11): who is on duty now, the roster, checkpoints and rounds."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, HTTPException, Path, Query, status
from pydantic import BaseModel

from ingest.duty.roster import DutyNow, RosterEntry, RosterRefused
from ingest.duty.rounds import RoundWindow
from ingest.duty.swaps import SwapIn, SwapRefused
from ingest.people.principal import Principal
from ingest.web.deps import Admin, Guard, ServiceDep, Viewer

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
    first = first or service.site_now().date()
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
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc


class Checkpoint(BaseModel):
    """A checkpoint with the signed link its QR code holds."""

    id: str
    name: str
    place: str
    url: str


@router.get("/api/duty/checkpoints")
def checkpoints(service: ServiceDep, _caller: Admin) -> list[Checkpoint]:
    """Every checkpoint and its link (admins: whoever has a link may record visits)."""
    rounds = service.duty.rounds
    return [
        Checkpoint(id=c.id, name=c.name, place=c.place, url=rounds.url(c.id))
        for c in service.duty.config.checkpoints
    ]


@router.get("/api/duty/rounds")
def rounds(
    service: ServiceDep, _caller: Viewer, day: Annotated[date | None, Query(alias="date")] = None
) -> list[RoundWindow]:
    """Every round window due on ``date`` (site time; default today): its visits, when it
    was done, and what was missed once it closed."""
    return service.duty.rounds.day(day or service.site_now().date(), sense=True)


@router.post("/api/duty/swaps", status_code=201)
def ask_swap(service: ServiceDep, caller: Guard, swap: SwapIn) -> dict[str, Any]:
    """Give my shift of ``date`` to ``taker`` (they consent, then an admin approves)."""
    login = _login(caller)
    try:
        record = service.duty.swaps.ask(swap, login)
    except SwapRefused as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    return service.duty.swaps.view(record)


@router.post("/api/duty/swaps/{rid}/{step}", status_code=201)
def swap_step(
    service: ServiceDep,
    caller: Guard,
    rid: Annotated[int, Path(ge=1)],
    step: Literal["consent", "approve", "refuse"],
) -> dict[str, Any]:
    """The taker consents, an admin approves (the roster changes), or either refuses."""
    swaps = service.duty.swaps
    try:
        swaps.step(rid, step, _login(caller), caller.may("admin"), caller.name)
    except LookupError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except (SwapRefused, RosterRefused) as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    record = service.duty.books.get("swaps", rid)
    assert record is not None
    return swaps.view(record)


@router.get("/api/duty/swaps")
def swaps(service: ServiceDep, _caller: Viewer) -> list[dict[str, Any]]:
    """The last 50 swap requests and where each stands."""
    return [service.duty.swaps.view(r) for r in service.duty.books.all("swaps")[-50:]]


def _login(caller: Principal) -> str:
    """A swap is between people: a bearer token (no login) cannot ask or consent."""
    if caller.login is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "swaps are made by people logged in")
    return caller.login
