"""Checkpoints in the console (SPEC §11): the page a checkpoint's QR code opens (that
place's doors, sensors and open alerts; a POST records the visit) and the printable page
of every checkpoint's code (admins)."""

from __future__ import annotations

from typing import Annotated

import segno
from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse

from ingest.app import IngestService
from ingest.config.duty import CheckpointConfig
from ingest.config.places import in_place
from ingest.people.principal import Principal
from ingest.web.console import views
from ingest.web.console.board import BoardState
from ingest.web.console.page_text import say
from ingest.web.console.routes.common import pages
from ingest.web.console.routes.duty_common import guard_only
from ingest.web.console.views import DeviceCard
from ingest.web.deps import AdminPersonDep, BoardDep, PersonDep, ServiceDep
from ingest.web.forms import check_form

router = APIRouter(include_in_schema=False)
CheckpointId = Annotated[str, Path(max_length=64)]
Sig = Annotated[str | None, Query(max_length=200)]
Note = Annotated[str, Form(max_length=500)]


def _page(
    request: Request,
    service: IngestService,
    board: BoardState,
    person: Principal,
    checkpoint: CheckpointConfig,
    sig: str,
    done: bool = False,
) -> HTMLResponse:
    lang = service.config.site.language
    place = checkpoint.place
    cards = _cards(board, place)
    active = [a for a in service.alerts.active() if in_place(a.tags, place)]
    alerts = [views.alert_card(a, board.tz, lang, board.places) for a in active]
    unlocked = [c for c in cards if c.door_open]
    return pages(request).page(
        request,
        "checkpoint.html",
        person,
        title=checkpoint.name,
        checkpoint=checkpoint,
        place=service.places.where(_place_tags(checkpoint.place)),
        cards=cards,
        alerts=alerts,
        unlocked=unlocked,
        sig=sig,
        done=done and say("checkpoint.recorded", lang),
    )


def _cards(board: BoardState, place: str) -> list[DeviceCard]:
    """The devices of a place, as the board shows them."""
    return [
        c
        for c in board.cards()
        if c.kind != "gateway" and in_place({"building": c.building, "room": c.room}, place)
    ]


def _place_tags(place: str) -> dict[str, str]:
    building, _, room = place.partition("/")
    return {"building": building, **({"room": room} if room else {})}


def _refused(request: Request, service: IngestService, person: Principal) -> HTMLResponse:
    lang = service.config.site.language
    title, text = say("checkpoint.bad_link.title", lang), say("checkpoint.bad_link", lang)
    return pages(request).message(request, person, 403, title, text, back="/")


@router.get("/duty/checkpoints/{cid}", response_class=HTMLResponse)
def checkpoint(
    request: Request,
    service: ServiceDep,
    board: BoardDep,
    person: PersonDep,
    cid: CheckpointId,
    sig: Sig = None,
) -> HTMLResponse:
    """What a scan shows: the place's doors, sensors and open alerts (records nothing)."""
    found = service.duty.rounds.signed(cid, sig)
    if found is None or sig is None:
        return _refused(request, service, person)
    return _page(request, service, board, person, found, sig)


@router.post("/duty/checkpoints/{cid}", response_class=HTMLResponse)
def visit(
    request: Request,
    service: ServiceDep,
    board: BoardDep,
    person: PersonDep,
    cid: CheckpointId,
    sig: Sig = None,
    csrf: Annotated[str, Form(max_length=200)] = "",
    note: Note = "",
) -> HTMLResponse:
    """Record a visit of the checkpoint by the person logged in."""
    found = service.duty.rounds.signed(cid, sig)
    if found is None or sig is None:
        return _refused(request, service, person)
    check_form(request, service, csrf, person)
    guard_only(person)
    to_lock = [c.device for c in _cards(board, found.place) if c.door_open]
    service.duty.rounds.visit(found, person.name, note.strip(), to_lock)
    return _page(request, service, board, person, found, sig, done=True)


@router.get("/duty/checkpoints/{cid}/print", response_class=HTMLResponse)
def print_one(
    request: Request, service: ServiceDep, admin: AdminPersonDep, cid: CheckpointId
) -> HTMLResponse:
    """One checkpoint's code, big, with its name and link (A4)."""
    chosen = [c for c in service.duty.config.checkpoints if c.id == cid]
    if not chosen:
        lang = service.config.site.language
        title, text = say("not_found.title", lang), say("checkpoint.unknown", lang)
        return pages(request).message(request, admin, 404, title, text, back="/")
    return _print(request, service, admin, chosen)


@router.get("/duty/checkpoints", response_class=HTMLResponse)
def print_all(request: Request, service: ServiceDep, admin: AdminPersonDep) -> HTMLResponse:
    """Every checkpoint's code, several per A4 page."""
    return _print(request, service, admin, list(service.duty.config.checkpoints))


def _print(
    request: Request, service: IngestService, admin: Principal, chosen: list[CheckpointConfig]
) -> HTMLResponse:
    codes = []
    for c in chosen:
        url = service.duty.rounds.url(c.id)
        svg = segno.make(url, error="m").svg_inline(scale=6, border=2)
        codes.append(
            {
                "name": c.name,
                "place": service.places.where(_place_tags(c.place)),
                "url": url,
                "svg": svg,
            }
        )
    lang = service.config.site.language
    return pages(request).page(
        request, "checkpoints_print.html", admin, title=say("checkpoint.print", lang), codes=codes
    )
