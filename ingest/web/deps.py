"""The web app's dependencies, named and typed: the running service and its parts
(``AlertsDep``, ``BoardDep``, ``PagesDep``), the logged-in person of a console page
(``PersonDep``, ``AdminPersonDep``), and the caller of an API route by bearer token or
session cookie with their role (``Viewer``, ``Guard``, ``Admin``: SPEC §6, §9)."""

from __future__ import annotations

from http.cookies import CookieError, SimpleCookie
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.datastructures import Headers

from ingest.app import IngestService
from ingest.people.principal import Principal, from_session, from_token
from ingest.people.store import Session
from ingest.rules.service import AlertService

if TYPE_CHECKING:  # the console's parts: the API (which uses this module) never loads them
    from ingest.web.console.board import BoardState
    from ingest.web.console.feed import BoardFeed
    from ingest.web.console.pages import Pages

SESSION_COOKIE = "cw_session"
CSRF_HEADER = "X-CSRF-Token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class LoginRequired(Exception):
    """The page needs a logged-in person: send the browser to the login form."""


class Forbidden(Exception):
    """The person's role is too low for this page or action."""


# ---------------------------------------------------------------------- the service


def get_service(request: Request) -> IngestService:
    """The service this web app belongs to."""
    service: IngestService = request.app.state.service
    return service


def get_alerts(request: Request) -> AlertService:
    """What people do with alerts."""
    return get_service(request).alerts


def get_board(request: Request) -> BoardState:
    """The console board's content."""
    board: BoardState = request.app.state.board
    return board


def get_pages(request: Request) -> Pages:
    """The console's page renderer."""
    pages: Pages = request.app.state.pages
    return pages


def get_feed(request: Request) -> BoardFeed:
    """The console's live feed."""
    feed: BoardFeed = request.app.state.feed
    return feed


ServiceDep = Annotated[IngestService, Depends(get_service)]
AlertsDep = Annotated[AlertService, Depends(get_alerts)]
BoardDep = Annotated["BoardState", Depends(get_board)]
PagesDep = Annotated["Pages", Depends(get_pages)]
FeedDep = Annotated["BoardFeed", Depends(get_feed)]

# ---------------------------------------------------------------------- people (console)


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


PersonDep = Annotated[Principal, Depends(logged_in)]


def admin_person(person: PersonDep) -> Principal:
    """The logged-in person, who must be an admin (Forbidden otherwise)."""
    if not person.may("admin"):
        raise Forbidden
    return person


AdminPersonDep = Annotated[Principal, Depends(admin_person)]


def secure_cookies(service: IngestService) -> bool:
    """Cookies are ``Secure`` when people reach the console over HTTPS."""
    return service.config.api.base_url().startswith("https://")


# ---------------------------------------------------------------------- callers (API)

_bearer = HTTPBearer(auto_error=False)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def authorize(
    request: Request,
    service: IngestService,
    credentials: HTTPAuthorizationCredentials | None,
    role: str,
) -> Principal:
    """The caller if their role is ``role`` or higher; 401 or 403 otherwise.

    A write with the session cookie must carry the page's CSRF token in ``X-CSRF-Token``.
    """
    if credentials is not None:
        principal = from_token(service.config.api.tokens, credentials.credentials)
    else:
        principal = session_principal(request, service)
        if principal is not None and request.method not in _SAFE_METHODS:
            token = request.headers.get(CSRF_HEADER)
            if not service.csrf.check(token, principal.session, service.clock.time()):
                raise HTTPException(
                    status.HTTP_403_FORBIDDEN, f"missing or invalid CSRF token ({CSRF_HEADER})"
                )
    if principal is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing or unknown bearer token (or session)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if not principal.may(role):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, f"role {principal.role} may not do this (needs {role})"
        )
    return principal


def has_credentials(service: IngestService, headers: Headers) -> bool:
    """Whether ``headers`` carry a known bearer token or a valid session cookie (checked
    before a request body is read; roles and CSRF are checked by the route)."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token:
        return from_token(service.config.api.tokens, token.strip()) is not None
    return _session_of(service, headers) is not None


def may_upload(service: IngestService, headers: Headers) -> bool:
    """Whether ``headers`` carry the session of a guard or admin (who may send a repair's
    photo: a bigger body than any other request; checked before it is read)."""
    session = _session_of(service, headers)
    return session is not None and from_session(session).may("guard")


def _session_of(service: IngestService, headers: Headers) -> Session | None:
    cookies = SimpleCookie()
    try:
        cookies.load(headers.get("cookie", ""))
    except CookieError:
        return None
    morsel = cookies.get(SESSION_COOKIE)
    return service.people.session(morsel.value) if morsel is not None else None


def require_role(role: str) -> object:
    """A dependency that admits callers whose role is ``role`` or higher."""

    def check(request: Request, service: ServiceDep, credentials: Credentials) -> Principal:
        return authorize(request, service, credentials, role)

    return check


Viewer = Annotated[Principal, Depends(require_role("viewer"))]
Guard = Annotated[Principal, Depends(require_role("guard"))]
Admin = Annotated[Principal, Depends(require_role("admin"))]
