"""An alert's page (``/alerts/{id}``: history, value, tags, snapshot) and acknowledging it
with a note (guard and admin; ``acknowledged_by`` is the person's display name)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from campuswatch.clock import local_time
from campuswatch.notify.words import severity_word
from campuswatch.protocol import DeviceRef
from ingest.app import IngestService
from ingest.links import LinkKeyError
from ingest.people.principal import Principal
from ingest.rules.alert_text import format_value, location
from ingest.rules.errors import AlertConflict, AlertForbidden, AlertNotFound
from ingest.rules.links import signed_snapshot_url, snapshot_path
from ingest.rules.model import Alert
from ingest.web.console.page_text import conflict_text, say, word
from ingest.web.console.routes.common import pages
from ingest.web.deps import PersonDep, ServiceDep
from ingest.web.forms import check_form

router = APIRouter(include_in_schema=False)
AlertId = Annotated[int, Path(ge=1, le=2**62)]
Note = Annotated[str, Form(max_length=2000)]


def alert_context(
    service: IngestService, alert: Alert, *, signed_snapshot: bool = False
) -> dict[str, Any]:
    """What an alert's page shows (also the ack-link page)."""
    lang, tz = service.config.site.language, ZoneInfo(service.config.site.timezone)

    def when(ms: int) -> str:
        return local_time(ms, tz).strftime("%Y-%m-%d %H:%M:%S")

    events = [
        {"time": when(e.ts_ms), "state": e.state, "by": e.actor, "note": e.note}
        for e in service.alerts.events(alert.id)
    ]
    return {
        "title": say("alert.title", lang, id=alert.id),
        "alert": alert,
        "place": location(alert, service.places),
        "since": when(alert.since_ms),
        "severity": severity_word(alert.severity, lang),
        "value": format_value(alert),
        "events": events,
        "snapshot_url": _snapshot_url(service, alert, signed_snapshot),
        "what": _what(alert, lang),
        "other_tags": {k: v for k, v in alert.tags.items() if k not in _SHOWN_TAGS},
        "note_hint": word("alert.note", alert.kind, lang, fallback="alert.note"),
        "told_by": _told_by(alert, lang, when),
    }


def _told_by(alert: Alert, lang: str, when: Callable[[int], str]) -> str | None:
    """When the gateway told people on its own (SPEC §12), if it did."""
    if alert.edge_told_ms is None:
        return None
    return say("alert.told_by_gateway", lang, gateway=alert.gateway, time=when(alert.edge_told_ms))


_SHOWN_TAGS = frozenset({"building", "room", "class"})  # said in words on the page


def _what(alert: Alert, lang: str) -> str:
    """What the device is, in words: 冷藏柜, 门, 烟感 (its class, else its kind)."""
    return word("class", alert.tags.get("class"), lang, fallback=f"kind.{alert.kind}") or (
        alert.kind
    )


def _snapshot_url(service: IngestService, alert: Alert, signed: bool) -> str | None:
    """The snapshot its notification named (else the camera's newest): its plain path for
    a logged-in person, a link signed for this alert for a page opened without a login
    (an ack link's)."""
    if alert.kind != "camera":
        return None
    camera = DeviceRef(alert.site, alert.gateway, alert.device)
    snapshot = service.snapshots.get(camera, alert.snapshot) if alert.snapshot else None
    snapshot = snapshot or service.snapshots.latest(camera)
    if snapshot is None:
        return None
    if not signed:
        return snapshot_path(snapshot)
    valid_s = int(service.config.snapshots.link_valid.total_seconds())
    try:
        return signed_snapshot_url(service.links, snapshot, alert.id, valid_s)
    except LinkKeyError:  # an unusable link key (a health problem): the page goes without
        return None


def _not_found(request: Request, person: Principal, lang: str) -> HTMLResponse:
    title, text = say("not_found.title", lang), say("not_found", lang)
    return pages(request).message(request, person, 404, title, text, back="/")


@router.get("/alerts/{alert_id}", response_class=HTMLResponse)
def alert_page(
    request: Request, service: ServiceDep, person: PersonDep, alert_id: AlertId, done: int = 0
) -> HTMLResponse:
    """One alert with its history and, for guards, the acknowledge form."""
    alert = service.alerts.alert(alert_id)
    lang = service.config.site.language
    if alert is None:
        return _not_found(request, person, lang)
    return _page(request, service, person, alert, notice=say("alert.acked", lang) if done else None)


def _page(
    request: Request,
    service: IngestService,
    person: Principal,
    alert: Alert,
    status: int = 200,
    **extra: Any,
) -> HTMLResponse:
    lang = service.config.site.language
    in_areas = person.in_areas(alert.tags)
    can_ack = person.may("guard") and in_areas and alert.state == "firing"
    blocked = None
    if not person.may("guard"):
        blocked = say("alert.viewer", lang)
    elif not in_areas:
        blocked = say("alert.not_your_area", lang)
    return pages(request).page(
        request,
        "alert.html",
        person,
        status,
        can_ack=can_ack,
        ack_blocked=blocked,
        **alert_context(service, alert),
        **extra,
    )


@router.post("/alerts/{alert_id}/ack")
def acknowledge(
    request: Request,
    service: ServiceDep,
    person: PersonDep,
    alert_id: AlertId,
    csrf: Annotated[str, Form(max_length=200)] = "",
    note: Note = "",
) -> Response:
    """Acknowledge as the logged-in person (guard or admin)."""
    check_form(request, service, csrf, person)
    lang = service.config.site.language
    alert = service.alerts.alert(alert_id)
    if alert is None:
        return _not_found(request, person, lang)
    if not person.may("guard"):
        return _page(request, service, person, alert, 403, error=say("alert.viewer", lang))
    try:
        service.alerts.acknowledge(alert_id, person.name, note, areas=person.areas)
    except AlertForbidden:
        return _page(request, service, person, alert, 403)
    except AlertNotFound:
        return _not_found(request, person, lang)
    except AlertConflict as exc:
        fresh = service.alerts.alert(alert_id) or alert
        return _page(request, service, person, fresh, 409, error=conflict_text(exc, lang))
    return RedirectResponse(f"/alerts/{alert_id}?done=1", status_code=303)
