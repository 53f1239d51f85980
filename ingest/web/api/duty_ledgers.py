"""The duty ledgers' API (SPEC §11): work orders and handovers, and each month of them as
CSV for the office."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Response, status

from ingest.app import IngestService
from ingest.duty.books import Record
from ingest.duty.handover import ConfirmIn, HandoverIn, HandoverRefused
from ingest.duty.workorders import StateIn, WorkOrderIn, WorkOrderRefused
from ingest.web.api.duty_common import (
    HANDOVER_COLUMNS,
    ORDER_COLUMNS,
    FormatQuery,
    MonthQuery,
    Ms,
    RecordId,
    addenda,
    csv_response,
    first_day,
    found,
    month_span,
    when_iso,
    window,
)
from ingest.web.deps import Guard, ServiceDep, Viewer

router = APIRouter()


# ---------------------------------------------------------------------- work orders


def _order(service: IngestService, record: Record) -> dict[str, Any]:
    view = service.duty.workorders.view(record)
    return {**view, "addenda": addenda(service, "workorders", record.id)}


@router.post("/api/duty/workorders", status_code=201)
def open_order(service: ServiceDep, caller: Guard, order: WorkOrderIn) -> dict[str, Any]:
    """A repair to do (``mute_until``: its device's notifications stop until then)."""
    try:
        return _order(service, service.duty.workorders.open(order, caller.name))
    except WorkOrderRefused as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc


@router.post("/api/duty/workorders/{rid}/state", status_code=201)
def move_order(
    service: ServiceDep, caller: Guard, rid: RecordId, change: StateIn
) -> dict[str, Any]:
    """open → in_progress → done (done is final: 409 after it)."""
    record = found(service.duty.books.get("workorders", rid), "workorders", rid)
    try:
        service.duty.workorders.move(rid, change, caller.name)
    except WorkOrderRefused as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    return _order(service, record)


@router.get("/api/duty/workorders", response_model=None)
def orders(
    service: ServiceDep,
    _caller: Viewer,
    start: Annotated[Ms, Query(alias="from")] = None,
    end: Annotated[Ms, Query(alias="to")] = None,
    state: Literal["open", "in_progress", "done", "all"] | None = None,
    month: MonthQuery = None,
    format: FormatQuery = "json",  # noqa: A002 (the query parameter's name)
) -> list[dict[str, Any]] | Response:
    """Orders opened in [from, to) (default: the last 7 days) or in ``month``, by default
    those not done; without ``from`` or ``month``, every order not done, however old. As
    CSV: the office's monthly list."""
    books = service.duty.books
    if month:
        records = books.between("workorders", *month_span(service, month))
    elif start is None and state in (None, "open", "in_progress"):
        records = books.all("workorders")
    else:
        records = books.between("workorders", *window(service, start, end))
    views = [_order(service, r) for r in records]
    if state is None and not month:
        views = [v for v in views if v["state"] != "done"]
    elif state not in (None, "all"):
        views = [v for v in views if v["state"] == state]
    if format == "json":
        return views
    rows = [
        [
            o["id"],
            when_iso(service, o["at"]),
            o["by"],
            o["title"],
            o["device"],
            o["state"],
            when_iso(service, o["done_at"]),
            o["minutes"],
            o["note"],
        ]
        for o in views
    ]
    return csv_response(
        ORDER_COLUMNS, rows, f"workorders-{month or first_day(service, records)}.csv"
    )


@router.get("/api/duty/workorders/{rid}")
def order(service: ServiceDep, _caller: Viewer, rid: RecordId) -> dict[str, Any]:
    """One work order with its changes."""
    return _order(service, found(service.duty.books.get("workorders", rid), "workorders", rid))


# ---------------------------------------------------------------------- handovers


def _handover(service: IngestService, record: Record) -> dict[str, Any]:
    view = service.duty.handovers.view(record)
    return {**view, "addenda": addenda(service, "handovers", record.id)}


@router.get("/api/duty/handover/draft")
def handover_draft(service: ServiceDep, _caller: Viewer) -> dict[str, Any]:
    """What the current shift saw, to hand over."""
    return service.duty.handovers.draft()


@router.post("/api/duty/handovers", status_code=201)
def hand_over(service: ServiceDep, caller: Guard, handover: HandoverIn) -> dict[str, Any]:
    """The outgoing person hands over: the draft is frozen into the record."""
    return _handover(service, service.duty.handovers.save(handover, caller.name, caller.login))


@router.post("/api/duty/handovers/{rid}/confirm", status_code=201)
def confirm_handover(
    service: ServiceDep, caller: Guard, rid: RecordId, confirmation: ConfirmIn
) -> dict[str, Any]:
    """Another guard or admin takes over (the author, or a second confirmation: 409)."""
    record = found(service.duty.books.get("handovers", rid), "handovers", rid)
    try:
        service.duty.handovers.confirm(rid, confirmation, caller.name, caller.login)
    except HandoverRefused as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    return _handover(service, record)


@router.get("/api/duty/handovers", response_model=None)
def handovers(
    service: ServiceDep,
    _caller: Viewer,
    start: Annotated[Ms, Query(alias="from")] = None,
    end: Annotated[Ms, Query(alias="to")] = None,
    month: MonthQuery = None,
    format: FormatQuery = "json",  # noqa: A002 (the query parameter's name)
) -> list[dict[str, Any]] | Response:
    """Handovers saved in [from, to) (default: the last 7 days) or in ``month``; as CSV,
    one line each (the office's monthly ledger)."""
    first, last = month_span(service, month) if month else window(service, start, end)
    views = [_handover(service, r) for r in service.duty.books.between("handovers", first, last)]
    if format == "json":
        return views
    rows = [
        [
            h["id"],
            when_iso(service, h["at"]),
            h["by"],
            h["draft"].get("shift"),
            h["note"],
            len(h["draft"].get("alerts", {}).get("fired", [])),
            len(h["draft"].get("alerts", {}).get("open", [])),
            len(h["draft"].get("visitors_in", [])),
            len(h["draft"].get("workorders_open", [])),
            h["confirmed_by"],
            when_iso(service, h["confirmed_at"]),
            h["confirm_note"],
        ]
        for h in views
    ]
    return csv_response(HANDOVER_COLUMNS, rows, f"handovers-{month or first}.csv")


@router.get("/api/duty/handovers/{rid}")
def handover(service: ServiceDep, _caller: Viewer, rid: RecordId) -> dict[str, Any]:
    """One handover, its draft as it was handed over."""
    return _handover(service, found(service.duty.books.get("handovers", rid), "handovers", rid))
