"""``/duty``: the duty books' front page (who is on duty, what waits), and the handover:
the draft of this shift, handing over, taking over, the printable ledger page."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, Response

from ingest.app import IngestService
from ingest.duty.handover import ConfirmIn, HandoverIn, HandoverRefused
from ingest.duty.samples import BOOK as SAMPLES
from ingest.web.console.page_text import say
from ingest.web.console.routes.common import pages
from ingest.web.console.routes.duty_common import guard_only, refused, saved, when
from ingest.web.deps import BoardDep, PersonDep, ServiceDep
from ingest.web.forms import check_form

router = APIRouter(include_in_schema=False)
Csrf = Annotated[str, Form(max_length=200)]
Note = Annotated[str, Form(max_length=4000)]
RecordId = Annotated[int, Path(ge=1)]
RECENT = 10


@router.get("/duty", response_class=HTMLResponse)
def hub(request: Request, service: ServiceDep, board: BoardDep, person: PersonDep) -> HTMLResponse:
    """Who is on duty and what waits in each book."""
    duty, lang = service.duty, service.config.site.language
    draft = duty.handovers.draft()
    today = duty.rounds.day(service.site_now().date())
    now = int(service.clock.time() * 1000)
    keep = _keep_ms(service)
    recent = duty.books.between(SAMPLES, now - 2 * keep, now + 1)
    kept = [s for s in recent if s.body["taken_at"] + keep > now]
    lines = {
        "handover": say("duty.hub.open_alerts", lang, n=len(draft["alerts"]["open"])),
        "visitors": say("duty.hub.visitors_in", lang, n=len(draft["visitors_in"])),
        "workorders": say("duty.hub.orders_open", lang, n=len(draft["workorders_open"])),
        "samples": say("duty.hub.samples_kept", lang, n=len(kept)),
        "rounds": say(
            "duty.hub.rounds_today",
            lang,
            done=sum(1 for w in today if w.done_at),
            total=len(today),
        ),
    }
    return pages(request).page(
        request,
        "duty.html",
        person,
        title=say("duty.title", lang),
        on_duty=board.duty(),
        lines=lines,
    )


@router.get("/duty/handover", response_class=HTMLResponse)
def handover_page(request: Request, service: ServiceDep, person: PersonDep) -> HTMLResponse:
    """This shift's draft, the form to hand over, and the recent handovers."""
    duty = service.duty
    recent = [duty.handovers.view(r) for r in duty.books.last("handovers", RECENT)][::-1]
    return pages(request).page(
        request,
        "handover.html",
        person,
        title=say("duty.handover", service.config.site.language),
        draft=_shown(service, duty.handovers.draft()),
        recent=[
            {
                **h,
                "at_text": when(service, h["at"]),
                "confirmed_text": when(service, h["confirmed_at"]),
            }
            for h in recent
        ],
        saved=request.query_params.get("saved"),
        month=f"{service.site_now():%Y-%m}",
    )


@router.post("/duty/handover")
def hand_over(
    request: Request, service: ServiceDep, person: PersonDep, csrf: Csrf = "", note: Note = ""
) -> Response:
    """Hand over: the draft is frozen with the note."""
    check_form(request, service, csrf, person)
    guard_only(person)
    service.duty.handovers.save(HandoverIn(note=note), person.name, person.login)
    return saved("/duty/handover")


@router.post("/duty/handovers/{rid}/confirm")
def take_over(
    request: Request,
    service: ServiceDep,
    person: PersonDep,
    rid: RecordId,
    csrf: Csrf = "",
    note: Note = "",
) -> Response:
    """Take over (not one's own handover; once)."""
    check_form(request, service, csrf, person)
    guard_only(person)
    try:
        service.duty.handovers.confirm(rid, ConfirmIn(note=note), person.name, person.login)
    except (HandoverRefused, LookupError) as exc:
        return refused(request, service, person, "/duty/handover", exc)
    return saved("/duty/handover")


@router.get("/duty/handovers/{rid}/print", response_class=HTMLResponse)
def ledger_page(
    request: Request, service: ServiceDep, person: PersonDep, rid: RecordId
) -> HTMLResponse:
    """One handover as the familiar A4 ledger page, both names and times."""
    record = service.duty.books.get("handovers", rid)
    lang = service.config.site.language
    if record is None:
        title, text = say("not_found.title", lang), say("duty.nothing", lang)
        return pages(request).message(request, person, 404, title, text, back="/duty/handover")
    view = service.duty.handovers.view(record)
    return pages(request).page(
        request,
        "handover_print.html",
        person,
        title=say("handover.ledger", lang),
        h={
            **view,
            "at_text": when(service, view["at"]),
            "confirmed_text": when(service, view["confirmed_at"]),
        },
        draft=_shown(service, view["draft"]),
    )


def _shown(service: IngestService, draft: dict[str, Any]) -> dict[str, Any]:
    """The draft with times and places as people read them."""
    places = service.places
    names = {c.id: c.name for c in service.duty.config.checkpoints}

    def alert(a: dict[str, Any]) -> dict[str, Any]:
        where = places.where({k: a[k] for k in ("building", "room") if a.get(k)})
        return {
            **a,
            "place": where,
            "fired_text": when(service, a["fired_at"]),
            "acked_text": when(service, a["acknowledged_at"]),
        }

    alerts = draft["alerts"]
    return {
        **draft,
        "since_text": when(service, draft["since"]),
        "until_text": when(service, draft["until"]),
        "fired": [alert(a) for a in alerts["fired"]],
        "open": [alert(a) for a in alerts["open"]],
        "acknowledged": [alert(a) for a in alerts["acknowledged"]],
        "rounds": [
            {
                **w,
                "due_text": when(service, w["due_at"]),
                "done_text": when(service, w["done_at"]),
                "missed_names": [names.get(c, c) for c in w["missed"]],
            }
            for w in draft["rounds"]
        ],
        "visitors": [{**v, "in_text": when(service, v["in_at"])} for v in draft["visitors_in"]],
    }


def _keep_ms(service: IngestService) -> int:
    return int(service.duty.config.sample_keep.total_seconds() * 1000)
