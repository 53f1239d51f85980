"""The duty record books' API (SPEC §11): food samples, visitors, work orders, and an
addendum to any saved record. A saved record is never changed: PUT, PATCH and DELETE on
one get 405 (the router answers so: only GET and the POSTs below exist for its path)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, status
from pydantic import BaseModel, ConfigDict, StringConstraints

from campuswatch.clock import now_ms
from ingest.app import IngestService
from ingest.duty.books import Record
from ingest.duty.handover import ConfirmIn, HandoverIn, HandoverRefused
from ingest.duty.samples import SampleIn, SampleRefused
from ingest.duty.visitors import SignedOutAlready, VisitorIn
from ingest.duty.workorders import StateIn, WorkOrderIn, WorkOrderRefused
from ingest.web.deps import Guard, ServiceDep, Viewer

router = APIRouter()
Book = Literal["samples", "visitors", "handovers", "workorders"]
RecordId = Annotated[int, Path(ge=1)]
Ms = Annotated[int | None, Query(ge=0, description="epoch milliseconds")]
DEFAULT_SPAN = timedelta(days=7)
Text = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=2000, pattern=r"^[^\x00]+$"),
]


class AddendumIn(BaseModel):
    """``POST /api/duty/BOOK/{id}/addenda``: a correction, naming why."""

    model_config = ConfigDict(extra="forbid")
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    text: Text


def _addenda(service: IngestService, book: str, rid: int) -> list[dict[str, Any]]:
    return [r.as_json() for r in service.duty.books.about(f"{book}.addenda", rid)]


def _window(service: IngestService, start: int | None, end: int | None) -> tuple[int, int]:
    end = end if end is not None else now_ms(service.clock) + 1
    start = start if start is not None else end - int(DEFAULT_SPAN.total_seconds() * 1000)
    if end <= start:
        raise HTTPException(422, "'to' must be after 'from'")
    return start, end


def _found(record: Record | None, book: str, rid: int) -> Record:
    if record is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no record {rid} in {book}")
    return record


# ---------------------------------------------------------------------- samples


@router.post("/api/duty/samples", status_code=201)
def add_sample(service: ServiceDep, caller: Guard, sample: SampleIn) -> dict[str, Any]:
    """Record a meal's samples (each dish at least ``duty.sample_min_grams``)."""
    try:
        return {**service.duty.samples.record(sample, caller.name), "addenda": []}
    except SampleRefused as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, str(exc)) from exc


@router.get("/api/duty/samples")
def samples(
    service: ServiceDep,
    _caller: Viewer,
    start: Annotated[Ms, Query(alias="from")] = None,
    end: Annotated[Ms, Query(alias="to")] = None,
) -> list[dict[str, Any]]:
    """Samples saved in [from, to) (default: the last 7 days), with their fridge's log."""
    first, last = _window(service, start, end)
    return [
        {**s, "addenda": _addenda(service, "samples", s["id"])}
        for s in service.duty.samples.between(first, last)
    ]


@router.get("/api/duty/samples/{rid}")
def sample(service: ServiceDep, _caller: Viewer, rid: RecordId) -> dict[str, Any]:
    """One sample."""
    record = _found(service.duty.books.get("samples", rid), "samples", rid)
    return {**service.duty.samples.view(record), "addenda": _addenda(service, "samples", rid)}


# ---------------------------------------------------------------------- visitors


def _visitor(service: IngestService, record: Record, admin: bool) -> dict[str, Any]:
    view = service.duty.visitors.view(record, admin=admin)
    return {**view, "addenda": _addenda(service, "visitors", record.id)}


@router.post("/api/duty/visitors", status_code=201)
def sign_in(service: ServiceDep, caller: Guard, visitor: VisitorIn) -> dict[str, Any]:
    """A visitor arrives (the gate camera's latest picture is kept with the record)."""
    record = service.duty.visitors.sign_in(visitor, caller.name)
    return _visitor(service, record, caller.may("admin"))


@router.post("/api/duty/visitors/{rid}/out", status_code=201)
def sign_out(service: ServiceDep, caller: Guard, rid: RecordId) -> dict[str, Any]:
    """A visitor leaves (once)."""
    record = _found(service.duty.books.get("visitors", rid), "visitors", rid)
    try:
        service.duty.visitors.sign_out(rid, caller.name)
    except SignedOutAlready as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    return _visitor(service, record, caller.may("admin"))


@router.get("/api/duty/visitors")
def visitors(
    service: ServiceDep,
    caller: Viewer,
    start: Annotated[Ms, Query(alias="from")] = None,
    end: Annotated[Ms, Query(alias="to")] = None,
) -> list[dict[str, Any]]:
    """Visitors who arrived in [from, to) (default: the last 7 days)."""
    first, last = _window(service, start, end)
    admin = caller.may("admin")
    return [
        _visitor(service, r, admin) for r in service.duty.books.between("visitors", first, last)
    ]


@router.get("/api/duty/visitors/{rid}")
def visitor(service: ServiceDep, caller: Viewer, rid: RecordId) -> dict[str, Any]:
    """One visitor."""
    record = _found(service.duty.books.get("visitors", rid), "visitors", rid)
    return _visitor(service, record, caller.may("admin"))


# ---------------------------------------------------------------------- work orders


def _order(service: IngestService, record: Record) -> dict[str, Any]:
    view = service.duty.workorders.view(record)
    return {**view, "addenda": _addenda(service, "workorders", record.id)}


@router.post("/api/duty/workorders", status_code=201)
def open_order(service: ServiceDep, caller: Guard, order: WorkOrderIn) -> dict[str, Any]:
    """A repair to do (``mute_until``: its device's notifications stop until then)."""
    try:
        return _order(service, service.duty.workorders.open(order, caller.name))
    except WorkOrderRefused as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, str(exc)) from exc


@router.post("/api/duty/workorders/{rid}/state", status_code=201)
def move_order(
    service: ServiceDep, caller: Guard, rid: RecordId, change: StateIn
) -> dict[str, Any]:
    """open → in_progress → done (done is final: 409 after it)."""
    record = _found(service.duty.books.get("workorders", rid), "workorders", rid)
    try:
        service.duty.workorders.move(rid, change, caller.name)
    except WorkOrderRefused as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    return _order(service, record)


@router.get("/api/duty/workorders")
def orders(
    service: ServiceDep,
    _caller: Viewer,
    start: Annotated[Ms, Query(alias="from")] = None,
    end: Annotated[Ms, Query(alias="to")] = None,
    state: Literal["open", "in_progress", "done", "all"] | None = None,
) -> list[dict[str, Any]]:
    """Orders opened in [from, to) (default: the last 7 days), by default those not done;
    without ``from``, every order not done, however old."""
    books = service.duty.books
    if start is None and state in (None, "open", "in_progress"):
        records = books.all("workorders")
    else:
        records = books.between("workorders", *_window(service, start, end))
    views = [_order(service, r) for r in records]
    if state is None:
        return [v for v in views if v["state"] != "done"]
    return views if state == "all" else [v for v in views if v["state"] == state]


@router.get("/api/duty/workorders/{rid}")
def order(service: ServiceDep, _caller: Viewer, rid: RecordId) -> dict[str, Any]:
    """One work order with its changes."""
    return _order(service, _found(service.duty.books.get("workorders", rid), "workorders", rid))


# ---------------------------------------------------------------------- handovers


def _handover(service: IngestService, record: Record) -> dict[str, Any]:
    view = service.duty.handovers.view(record)
    return {**view, "addenda": _addenda(service, "handovers", record.id)}


@router.get("/api/duty/handover/draft")
def handover_draft(service: ServiceDep, _caller: Viewer) -> dict[str, Any]:
    """What the current shift saw, to hand over."""
    return service.duty.handovers.draft()


@router.post("/api/duty/handovers", status_code=201)
def hand_over(service: ServiceDep, caller: Guard, handover: HandoverIn) -> dict[str, Any]:
    """The outgoing person hands over: the draft is frozen into the record."""
    return _handover(service, service.duty.handovers.save(handover, caller.name))


@router.post("/api/duty/handovers/{rid}/confirm", status_code=201)
def confirm_handover(
    service: ServiceDep, caller: Guard, rid: RecordId, confirmation: ConfirmIn
) -> dict[str, Any]:
    """Another guard or admin takes over (the author, or a second confirmation: 409)."""
    record = _found(service.duty.books.get("handovers", rid), "handovers", rid)
    try:
        service.duty.handovers.confirm(rid, confirmation, caller.name)
    except HandoverRefused as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    return _handover(service, record)


@router.get("/api/duty/handovers")
def handovers(
    service: ServiceDep,
    _caller: Viewer,
    start: Annotated[Ms, Query(alias="from")] = None,
    end: Annotated[Ms, Query(alias="to")] = None,
) -> list[dict[str, Any]]:
    """Handovers saved in [from, to) (default: the last 7 days)."""
    first, last = _window(service, start, end)
    return [_handover(service, r) for r in service.duty.books.between("handovers", first, last)]


@router.get("/api/duty/handovers/{rid}")
def handover(service: ServiceDep, _caller: Viewer, rid: RecordId) -> dict[str, Any]:
    """One handover, its draft as it was handed over."""
    return _handover(service, _found(service.duty.books.get("handovers", rid), "handovers", rid))


# ---------------------------------------------------------------------- addenda


@router.post("/api/duty/{book}/{rid}/addenda", status_code=201)
def add_addendum(
    service: ServiceDep, caller: Guard, book: Book, rid: RecordId, addendum: AddendumIn
) -> dict[str, Any]:
    """A correction of a saved record: the record stays as it was, the addendum names it,
    why, and who wrote it."""
    record = _found(service.duty.books.get(book, rid), book, rid)
    saved = service.duty.books.follow_up(
        f"{book}.addenda", record, now_ms(service.clock), caller.name, addendum.model_dump()
    )
    return saved.as_json()
