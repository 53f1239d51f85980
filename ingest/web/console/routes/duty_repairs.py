"""``/duty/workorders``: repairs on a phone (SPEC §11): report one (muting its device
while it is repaired), move it on, see what the service opened from device health."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Path, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from campuswatch.clock import now_ms
from ingest.app import IngestService
from ingest.duty.photos import PhotoRefused, clean_jpeg
from ingest.duty.workorders import BOOK, StateIn, WorkOrderIn, WorkOrderRefused
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
Text = Annotated[str, Form(max_length=2000)]
RecordId = Annotated[int, Path(ge=1)]
DONE_SHOWN = 20


@router.get("/duty/workorders", response_class=HTMLResponse)
def orders_page(request: Request, service: ServiceDep, person: PersonDep) -> HTMLResponse:
    """Repairs not done, the form, and the last ones done."""
    views = [_order(service, service.duty.workorders.view(r)) for r in service.duty.books.all(BOOK)]
    views.reverse()
    devices = sorted(
        {
            (d.device, d.info.name if d.info and d.info.name else d.device)
            for d in service.registry.devices()
        },
        key=lambda d: d[1],
    )
    return pages(request).page(
        request,
        "workorders.html",
        person,
        title=say("duty.workorders", service.config.site.language),
        waiting=[v for v in views if v["state"] != "done"],
        done=[v for v in views if v["state"] == "done"][:DONE_SHOWN],
        devices=devices,
        saved=request.query_params.get("saved"),
        month=f"{service.site_now():%Y-%m}",
    )


@router.post("/duty/workorders")
def report(
    request: Request,
    service: ServiceDep,
    person: PersonDep,
    csrf: Csrf = "",
    title: Text = "",
    device: Text = "",
    note: Text = "",
    mute_hours: Annotated[str, Form(max_length=8)] = "",
    photo: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """A person reports a repair, with a photo from the phone if they took one."""
    check_form(request, service, csrf, person)
    guard_only(person)
    jpeg = None
    if photo is not None and photo.filename:
        try:
            jpeg = clean_jpeg(photo.file.read())  # in the thread pool: a sync route
        except PhotoRefused as exc:
            return refused(request, service, person, "/duty/workorders", exc)
    mute = None
    if mute_hours.strip():
        if not mute_hours.strip().isdigit():
            text = say("form.mute_hours", service.config.site.language)
            return refused(request, service, person, "/duty/workorders", text)
        mute = now_ms(service.clock) + int(mute_hours) * 3600_000
    body: dict[str, Any] = {
        "title": title,
        "device": device or None,
        "note": note,
        "mute_until": mute,
    }
    try:
        order = service.duty.workorders.open(
            WorkOrderIn.model_validate({**body, "photo": jpeg is not None}), person.name
        )
    except ValidationError as exc:
        return refused(request, service, person, "/duty/workorders", exc)
    except WorkOrderRefused as exc:
        return refused(request, service, person, "/duty/workorders", exc)
    if jpeg is not None:
        service.duty.photos.save(order.id, jpeg)
    return saved("/duty/workorders")


@router.get("/duty/workorders/{rid}/photo")
def photo_of(service: ServiceDep, person: PersonDep, rid: RecordId) -> Response:
    """A repair's photo (people logged in only)."""
    del person  # the dependency is the check
    return jpeg_file(service.duty.photos.path(rid))


@router.post("/duty/workorders/{rid}/state")
def move(
    request: Request,
    service: ServiceDep,
    person: PersonDep,
    rid: RecordId,
    csrf: Csrf = "",
    state: Annotated[str, Form(max_length=20)] = "",
    note: Text = "",
) -> Response:
    """Move a repair on (open → in progress → done)."""
    check_form(request, service, csrf, person)
    guard_only(person)
    try:
        change = StateIn.model_validate({"state": state, "note": note})
        service.duty.workorders.move(rid, change, person.name)
    except ValidationError as exc:
        return refused(request, service, person, "/duty/workorders", exc)
    except (WorkOrderRefused, LookupError) as exc:
        return refused(request, service, person, "/duty/workorders", exc)
    return saved("/duty/workorders")


def _order(service: IngestService, view: dict[str, Any]) -> dict[str, Any]:
    lang = service.config.site.language
    mute = view.get("mute_until")
    muted = mute is not None and mute > now_ms(service.clock) and view["state"] != "done"
    return {
        **view,
        "at_text": when(service, view["at"]),
        "state_text": say(f"order.state.{view['state']}", lang),
        "muted_text": say("order.muted", lang, at=when(service, mute)) if muted else "",
        "took_text": say("order.took", lang, n=view["minutes"])
        if view["minutes"] is not None
        else "",
        "next": {"open": ["in_progress", "done"], "in_progress": ["done"]}.get(view["state"], []),
    }
