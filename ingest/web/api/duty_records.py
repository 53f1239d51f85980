"""The duty record books' API (SPEC §11): food samples, visitors, and an addendum to any
saved record (work orders and handovers: duty_ledgers.py). A saved record is never
changed: PUT, PATCH and DELETE on one get 405 (the router answers so: only GET and the
POSTs below exist for its path)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel, ConfigDict, StringConstraints

from campuswatch.clock import now_ms
from ingest.app import IngestService
from ingest.duty.books import Record
from ingest.duty.samples import SampleIn, SampleRefused
from ingest.duty.visitors import SignedOutAlready, VisitorIn
from ingest.web.api.duty_common import Ms, RecordId, addenda, found, window
from ingest.web.deps import Guard, ServiceDep, Viewer

router = APIRouter()
Book = Literal["samples", "visitors", "handovers", "workorders"]
Text = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=2000, pattern=r"^[^\x00]+$"),
]


class AddendumIn(BaseModel):
    """``POST /api/duty/BOOK/{id}/addenda``: a correction, naming why."""

    model_config = ConfigDict(extra="forbid")
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    text: Text


# ---------------------------------------------------------------------- samples


@router.post("/api/duty/samples", status_code=201)
def add_sample(service: ServiceDep, caller: Guard, sample: SampleIn) -> dict[str, Any]:
    """Record a meal's samples (each dish at least ``duty.sample_min_grams``)."""
    try:
        return {**service.duty.samples.record(sample, caller.name), "addenda": []}
    except SampleRefused as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc


@router.get("/api/duty/samples")
def samples(
    service: ServiceDep,
    _caller: Viewer,
    start: Annotated[Ms, Query(alias="from")] = None,
    end: Annotated[Ms, Query(alias="to")] = None,
) -> list[dict[str, Any]]:
    """Samples saved in [from, to) (default: the last 7 days), with their fridge's log."""
    first, last = window(service, start, end)
    return [
        {**s, "addenda": addenda(service, "samples", s["id"])}
        for s in service.duty.samples.between(first, last)
    ]


@router.get("/api/duty/samples/{rid}")
def sample(service: ServiceDep, _caller: Viewer, rid: RecordId) -> dict[str, Any]:
    """One sample."""
    record = found(service.duty.books.get("samples", rid), "samples", rid)
    return {**service.duty.samples.view(record), "addenda": addenda(service, "samples", rid)}


@router.post("/api/duty/samples/{rid}/discard", status_code=201)
def discard_sample(service: ServiceDep, caller: Guard, rid: RecordId) -> dict[str, Any]:
    """Record who threw a sample away (after its keeping time; once)."""
    found(service.duty.books.get("samples", rid), "samples", rid)
    try:
        service.duty.samples.discard(rid, caller.name)
    except SampleRefused as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    record = service.duty.books.get("samples", rid)
    assert record is not None
    return {**service.duty.samples.view(record), "addenda": addenda(service, "samples", rid)}


# ---------------------------------------------------------------------- visitors


def _visitor(service: IngestService, record: Record, admin: bool) -> dict[str, Any]:
    view = service.duty.visitors.view(record, admin=admin)
    return {**view, "addenda": addenda(service, "visitors", record.id)}


@router.post("/api/duty/visitors", status_code=201)
def sign_in(service: ServiceDep, caller: Guard, visitor: VisitorIn) -> dict[str, Any]:
    """A visitor arrives (the gate camera's latest picture is kept with the record)."""
    record = service.duty.visitors.sign_in(visitor, caller.name)
    return _visitor(service, record, caller.may("admin"))


@router.post("/api/duty/visitors/{rid}/out", status_code=201)
def sign_out(service: ServiceDep, caller: Guard, rid: RecordId) -> dict[str, Any]:
    """A visitor leaves (once)."""
    record = found(service.duty.books.get("visitors", rid), "visitors", rid)
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
    first, last = window(service, start, end)
    admin = caller.may("admin")
    return [
        _visitor(service, r, admin) for r in service.duty.books.between("visitors", first, last)
    ]


@router.get("/api/duty/visitors/{rid}")
def visitor(service: ServiceDep, caller: Viewer, rid: RecordId) -> dict[str, Any]:
    """One visitor."""
    record = found(service.duty.books.get("visitors", rid), "visitors", rid)
    return _visitor(service, record, caller.may("admin"))


# ---------------------------------------------------------------------- addenda


@router.post("/api/duty/{book}/{rid}/addenda", status_code=201)
def add_addendum(
    service: ServiceDep, caller: Guard, book: Book, rid: RecordId, addendum: AddendumIn
) -> dict[str, Any]:
    """A correction of a saved record: the record stays as it was, the addendum names it,
    why, and who wrote it."""
    record = found(service.duty.books.get(book, rid), book, rid)
    saved = service.duty.books.follow_up(
        f"{book}.addenda", record, now_ms(service.clock), caller.name, addendum.model_dump()
    )
    return saved.as_json()
