"""The CSRF tokens of the console's forms: made for one browser (its session, else its
anonymous id) and checked on every form that changes something."""

from __future__ import annotations

from fastapi import Request

from ingest.app import IngestService
from ingest.people.csrf import ANON_COOKIE
from ingest.people.principal import Principal


class BadForm(Exception):
    """A form came without a valid CSRF token."""


def csrf_binding(request: Request, principal: Principal | None) -> str | None:
    """What this browser's CSRF tokens are bound to: its session, else its anonymous id."""
    if principal is not None and principal.session is not None:
        return principal.session
    return request.cookies.get(ANON_COOKIE)


def check_form(
    request: Request, service: IngestService, token: str | None, principal: Principal | None
) -> None:
    """BadForm unless ``token`` is a CSRF token made for this browser."""
    binding = csrf_binding(request, principal)
    if not service.csrf.check(token, binding, service.clock.time()):
        raise BadForm
