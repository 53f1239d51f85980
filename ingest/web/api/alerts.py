"""Alert endpoints: list, one alert with its history, acknowledge (SPEC §6)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Path, Query, status
from pydantic import BaseModel, ConfigDict, Field

from campuswatch.clock import local_time
from ingest.rules.model import Alert as AlertRecord
from ingest.rules.model import AlertEvent
from ingest.web.deps import AlertsDep, Guard, ServiceDep, Viewer

router = APIRouter()
AlertId = Annotated[int, Path(ge=1, description="the alert's id")]


class Alert(BaseModel):
    """One alert as the patrol sees it."""

    id: int
    rule: str
    device: str
    gateway: str
    name: str | None
    severity: str
    state: str
    title: str
    started_at: datetime
    fired_at: datetime | None
    acknowledged_by: str | None
    ack_note: str | None
    resolved_at: datetime | None
    value: float | None
    tags: dict[str, str]
    # Who told people first: "server", or "gateway" when the gateway did on its own
    # while cut off (SPEC §12, then ``edge_told_at`` says when); null while untold.
    notified_by: Literal["server", "gateway"] | None
    edge_told_at: datetime | None


class Event(BaseModel):
    """One step of an alert's history."""

    at: datetime
    state: str
    by: str | None
    note: str | None
    value: float | None


class AlertDetail(Alert):
    """An alert with its history."""

    events: list[Event]


class Acknowledgement(BaseModel):
    """``POST /api/alerts/{id}/ack`` body."""

    model_config = ConfigDict(extra="forbid")
    note: str = Field(default="", max_length=1000)


def _time(ms: int | None, tz: ZoneInfo) -> datetime | None:
    return local_time(ms, tz) if ms is not None else None


def _alert(record: AlertRecord, tz: ZoneInfo) -> Alert:
    return Alert(
        id=record.id,
        rule=record.rule,
        device=record.device,
        gateway=record.gateway,
        name=record.name,
        severity=record.severity,
        state=record.state,
        title=record.title,
        started_at=local_time(record.since_ms, tz),
        fired_at=_time(record.started_ms, tz),
        acknowledged_by=record.acknowledged_by,
        ack_note=record.ack_note,
        resolved_at=_time(record.resolved_ms, tz),
        value=record.value,
        tags=record.tags,
        notified_by=record.notified_by,
        edge_told_at=_time(record.edge_told_ms, tz),
    )


def _event(event: AlertEvent, tz: ZoneInfo) -> Event:
    at = local_time(event.ts_ms, tz)
    return Event(at=at, state=event.state, by=event.actor, note=event.note, value=event.value)


@router.get("/api/alerts")
def list_alerts(
    service: ServiceDep,
    alerts: AlertsDep,
    _token: Viewer,
    state: Literal["active", "all"] = "active",
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> list[Alert]:
    """Alerts newest first: ``active`` (pending, firing, acknowledged) or ``all``."""
    tz = ZoneInfo(service.config.site.timezone)
    records = alerts.alerts(active_only=state == "active", limit=limit)
    return [_alert(r, tz) for r in records]


@router.get("/api/alerts/{alert_id}")
def get_alert(
    service: ServiceDep, alerts: AlertsDep, _token: Viewer, alert_id: AlertId
) -> AlertDetail:
    """One alert with its event history."""
    record = alerts.alert(alert_id)
    if record is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no alert with id {alert_id}")
    tz = ZoneInfo(service.config.site.timezone)
    events = [_event(e, tz) for e in alerts.events(alert_id)]
    return AlertDetail(**_alert(record, tz).model_dump(), events=events)


@router.post("/api/alerts/{alert_id}/ack")
def acknowledge(
    service: ServiceDep,
    alerts: AlertsDep,
    caller: Guard,
    alert_id: AlertId,
    body: Acknowledgement,
) -> Alert:
    """Acknowledge a firing alert; ``acknowledged_by`` is the token's name, or the display
    name of the person logged in to the console. An unknown alert is 404, one outside
    a person's areas 403, one that cannot be acknowledged now 409 (see ``_add_refusals``
    in ``web/app.py``)."""
    record = alerts.acknowledge(alert_id, caller.name, body.note, areas=caller.areas)
    return _alert(record, ZoneInfo(service.config.site.timezone))
