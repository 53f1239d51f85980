"""Dependencies of the console's pages (and of the API, which shares them): the running
service, the logged-in person, roles and CSRF checks."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ingest.app import IngestService
from ingest.people.csrf import ANON_COOKIE
from ingest.people.principal import Principal, from_session

SESSION_COOKIE = "cw_session"


class LoginRequired(Exception):
    """The page needs a logged-in person: send the browser to the login form."""


class Forbidden(Exception):
    """The person's role is too low for this page or action."""


class BadForm(Exception):
    """A form came without a valid CSRF token."""


def get_service(request: Request) -> IngestService:
    """The service this web app belongs to."""
    service: IngestService = request.app.state.service
    return service


ServiceDep = Annotated[IngestService, Depends(get_service)]


def session_principal(request: Request, service: IngestService) -> Principal | None:
    """The person whose session cookie came with ``request``, if the session is valid."""
    session = service.people.session(request.cookies.get(SESSION_COOKIE))
    return from_session(session) if session else None


def logged_in(request: Request, service: ServiceDep) -> Principal:
    """The logged-in person (LoginRequired otherwise)."""
    principal = session_principal(request, service)
    if principal is None:
        raise LoginRequired
    return principal


Person = Annotated[Principal, Depends(logged_in)]


def admin(person: Person) -> Principal:
    """The logged-in person, who must be an admin (Forbidden otherwise)."""
    if not person.may("admin"):
        raise Forbidden
    return person


Admin = Annotated[Principal, Depends(admin)]


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


def secure_cookies(service: IngestService) -> bool:
    """Cookies are ``Secure`` when people reach the console over HTTPS."""
    return service.config.api.base_url().startswith("https://")
