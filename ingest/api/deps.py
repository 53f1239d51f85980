"""Shared API dependencies: the caller, by bearer token (machines) or by the console's
session cookie (people), and their role (SPEC §6, §9)."""

from __future__ import annotations

from http.cookies import CookieError, SimpleCookie
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.datastructures import Headers

from ingest.app import IngestService
from ingest.console.deps import SESSION_COOKIE, ServiceDep, session_principal
from ingest.people.principal import Principal, from_token

__all__ = ["Admin", "Credentials", "Guard", "ServiceDep", "Viewer", "authorize"]

CSRF_HEADER = "X-CSRF-Token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
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
    cookies = SimpleCookie()
    try:
        cookies.load(headers.get("cookie", ""))
    except CookieError:
        return False
    morsel = cookies.get(SESSION_COOKIE)
    return morsel is not None and service.people.session(morsel.value) is not None


def require_role(role: str) -> object:
    """A dependency that admits callers whose role is ``role`` or higher."""

    def check(request: Request, service: ServiceDep, credentials: Credentials) -> Principal:
        return authorize(request, service, credentials, role)

    return check


Viewer = Annotated[Principal, Depends(require_role("viewer"))]
Guard = Annotated[Principal, Depends(require_role("guard"))]
Admin = Annotated[Principal, Depends(require_role("admin"))]
