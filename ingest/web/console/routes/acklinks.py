"""The ack link of a notification (``ack_url``, SPEC §9): ``GET /ack/ID/TOKEN`` shows the
alert and a form (``name``, ``note``) and changes nothing, so a chat app drawing a preview
acknowledges nothing; the form's ``POST`` acknowledges, as the logged-in person or else as
the name typed, recorded as typed on a link (``张三（链接填写）``), never like a login's.
The link is the proof: signed, bound to its alert, expiring, used once."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, Response

from campuswatch.clock import local_time
from ingest.app import IngestService
from ingest.links import AckLinkError, AckTicket
from ingest.people.checks import PeopleError, check_name
from ingest.people.principal import Principal
from ingest.rules.errors import AckLinkUsed, AlertConflict, AlertForbidden, AlertNotFound
from ingest.rules.model import Alert
from ingest.web.console.page_text import conflict_text, say
from ingest.web.console.routes.alerts import alert_context
from ingest.web.console.routes.common import anonymous_page, pages
from ingest.web.deps import ServiceDep, session_principal
from ingest.web.forms import check_form

router = APIRouter(include_in_schema=False)
AlertId = Annotated[int, Path(ge=1, le=2**62)]
Token = Annotated[str, Path(max_length=200)]
_STATUS = {"forged": 403, "other_alert": 403, "expired": 410}


def _ticket(service: IngestService, alert_id: int, token: str) -> AckTicket | AckLinkError:
    try:
        return service.ack_links.check(alert_id, token, service.clock.time())
    except AckLinkError as exc:
        return exc


def _refused(request: Request, service: IngestService, status: int, key: str) -> HTMLResponse:
    lang = service.config.site.language
    principal = session_principal(request, service)
    title = say("ack.title", lang)
    return pages(request).message(request, principal, status, title, say(key, lang), back="/")


def _form(
    request: Request,
    service: IngestService,
    alert_id: int,
    token: str,
    principal: Principal | None,
    status: int = 200,
    **extra: object,
) -> HTMLResponse:
    alert = service.alerts.alert(alert_id)
    if alert is None:
        return _refused(request, service, 404, "not_found")
    # The link is the proof: its page shows the picture through a link signed for this
    # alert, which opens without a login (a phone that followed a chat message has none).
    context = alert_context(service, alert, signed_snapshot=principal is None) | {
        "action": f"/ack/{alert_id}/{token}",
        "name": principal.name if principal else "",
        "over": _over(service, alert) or _not_theirs(service, alert, principal),
    }
    context.update(extra)
    if principal is not None:
        return pages(request).page(request, "ack.html", principal, status, **context)
    return anonymous_page(request, service, "ack.html", status, **context)


@router.api_route("/ack/{alert_id}/{token}", methods=["GET", "HEAD"], response_class=HTMLResponse)
def ack_page(request: Request, service: ServiceDep, alert_id: AlertId, token: Token) -> Response:
    """The alert and the form. Changes nothing (chat apps open links to draw previews)."""
    ticket = _ticket(service, alert_id, token)
    if isinstance(ticket, AckLinkError):
        return _refused(request, service, _STATUS[ticket.reason], f"ack.{ticket.reason}")
    if service.alerts.link_used(ticket.nonce):
        return _used(request, service, alert_id)
    return _form(request, service, alert_id, token, session_principal(request, service))


def _used(request: Request, service: IngestService, alert_id: int) -> HTMLResponse:
    """A used link: who took the alert and when (not an error: it is taken care of)."""
    lang = service.config.site.language
    alert = service.alerts.alert(alert_id)
    if alert is None or alert.acknowledged_by is None or alert.acknowledged_ms is None:
        return _refused(request, service, 409, "ack.used")
    when = local_time(alert.acknowledged_ms, ZoneInfo(service.config.site.timezone))
    text = say("ack.used_by", lang, name=alert.acknowledged_by, time=when.strftime("%H:%M"))
    principal = session_principal(request, service)
    title = say("ack.title", lang)
    return pages(request).message(request, principal, 409, title, text, tone="ok", back="/")


def _not_theirs(service: IngestService, alert: Alert, principal: Principal | None) -> str | None:
    """Why a logged-in person limited to areas gets no form (they would get a 403)."""
    if principal is None or principal.in_areas(alert.tags):
        return None
    return say("alert.not_your_area", service.config.site.language)


def _over(service: IngestService, alert: Alert) -> str | None:
    """Why the page shows no form: the alert is over (and was not told late)."""
    if service.alerts.waits_for_ack(alert) or alert.resolved_ms is None:
        return None
    when = local_time(alert.resolved_ms, ZoneInfo(service.config.site.timezone))
    return say("ack.over", service.config.site.language, time=when.strftime("%H:%M"))


@router.post("/ack/{alert_id}/{token}", response_class=HTMLResponse)
def ack(
    request: Request,
    service: ServiceDep,
    alert_id: AlertId,
    token: Token,
    csrf: Annotated[str, Form(max_length=200)] = "",
    name: Annotated[str, Form(max_length=500)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Acknowledge through the link, as the logged-in person or as the name typed."""
    lang = service.config.site.language
    principal = session_principal(request, service)
    check_form(request, service, csrf, principal)
    ticket = _ticket(service, alert_id, token)
    if isinstance(ticket, AckLinkError):
        return _refused(request, service, _STATUS[ticket.reason], f"ack.{ticket.reason}")
    if principal is not None:
        by = principal.name
    else:
        if not name.strip():
            return _form(
                request, service, alert_id, token, None, 400, error=say("ack.name_needed", lang)
            )
        try:  # a typed name proves nothing: the record says it was typed on a link
            by = say("ack.typed", lang, name=check_name(name))
        except PeopleError:
            return _form(
                request,
                service,
                alert_id,
                token,
                None,
                400,
                error=say("ack.bad_name", lang),
                name=name[:64],
            )
    areas = principal.areas if principal is not None else ()  # a link alone is the proof
    try:
        service.alerts.acknowledge(alert_id, by, note, link_nonce=ticket.nonce, areas=areas)
    except AlertForbidden:
        return _refused(request, service, 403, "alert.not_your_area")
    except AckLinkUsed:
        return _used(request, service, alert_id)
    except AlertNotFound:
        return _refused(request, service, 404, "not_found")
    except AlertConflict as exc:
        return _form(
            request, service, alert_id, token, principal, 409, error=conflict_text(exc, lang)
        )
    return pages(request).message(
        request, principal, 200, say("ack.title", lang), say("alert.acked", lang), tone="ok"
    )
