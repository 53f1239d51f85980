"""``/duty/visitors``: the gate's visitor book on a phone (SPEC §11): sign a visitor in
(the gate camera's picture is kept with the record), sign them out, see who is still in.
Phones show masked to all but admins; the picture only to people logged in."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from campuswatch.clock import now_ms
from ingest.app import IngestService
from ingest.duty.visitors import BOOK, SignedOutAlready, VisitorIn
from ingest.web.console.page_text import say
from ingest.web.console.routes.common import pages
from ingest.web.console.routes.duty_common import (
    guard_only,
    jpeg_file,
    refused,
    saved,
    when,
)
from ingest.web.deps import PersonDep, ServiceDep
from ingest.web.forms import check_form

router = APIRouter(include_in_schema=False)
Csrf = Annotated[str, Form(max_length=200)]
Text = Annotated[str, Form(max_length=200)]
RecordId = Annotated[int, Path(ge=1)]
SHOWN_DAYS = 3


@router.get("/duty/visitors", response_class=HTMLResponse)
def visitors_page(request: Request, service: ServiceDep, person: PersonDep) -> HTMLResponse:
    """The sign-in form, who is still in, and the last days' visitors."""
    duty = service.duty
    admin = person.may("admin")
    now = now_ms(service.clock)
    recent = duty.books.between(BOOK, now - SHOWN_DAYS * 86_400_000, now + 1)
    views = [_visitor(service, duty.visitors.view(r, admin=admin)) for r in reversed(recent)]
    inside = [
        _visitor(service, duty.visitors.view(r, admin=admin)) for r in duty.visitors.still_in()
    ]
    lang = service.config.site.language
    days = int(duty.config.visitor_keep.total_seconds() // 86_400)
    return pages(request).page(
        request,
        "visitors.html",
        person,
        title=say("duty.visitors", lang),
        inside=inside[::-1],  # however long ago they came
        left=[v for v in views if v["out_at"] is not None],
        privacy=say("visitor.privacy", lang, days=days),
        saved=request.query_params.get("saved"),
    )


@router.post("/duty/visitors")
def sign_in(
    request: Request,
    service: ServiceDep,
    person: PersonDep,
    csrf: Csrf = "",
    name: Text = "",
    phone: Text = "",
    visiting: Text = "",
    approved_by: Text = "",
) -> Response:
    """A visitor arrives."""
    check_form(request, service, csrf, person)
    guard_only(person)
    fields = {"name": name, "visiting": visiting, "approved_by": approved_by}
    try:
        visitor = VisitorIn.model_validate({**fields, "phone": phone.strip() or None})
    except ValidationError as exc:
        return refused(request, service, person, "/duty/visitors", exc)
    service.duty.visitors.sign_in(visitor, person.name)
    return saved("/duty/visitors")


@router.post("/duty/visitors/{rid}/out")
def sign_out(
    request: Request, service: ServiceDep, person: PersonDep, rid: RecordId, csrf: Csrf = ""
) -> Response:
    """A visitor leaves (once)."""
    check_form(request, service, csrf, person)
    guard_only(person)
    try:
        service.duty.visitors.sign_out(rid, person.name)
    except (SignedOutAlready, LookupError) as exc:
        return refused(request, service, person, "/duty/visitors", exc)
    return saved("/duty/visitors")


@router.get("/duty/visitors/{rid}/picture")
def picture(service: ServiceDep, person: PersonDep, rid: RecordId) -> Response:
    """The gate camera's picture of a visitor's arrival (people logged in only)."""
    del person  # the dependency is the check
    return jpeg_file(service.duty.visitors.picture_path(rid))


def _visitor(service: IngestService, view: dict[str, Any]) -> dict[str, Any]:
    lang = service.config.site.language
    out = view["out_at"]
    return {
        **view,
        "in_text": when(service, view["in_at"]),
        "out_text": say("visitor.out_at", lang, at=when(service, out)) if out else "",
    }
