"""Shared API dependencies: the running service and bearer-token roles."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ingest.app import IngestService
from ingest.config import ApiTokenConfig

ROLE_RANK = {"viewer": 0, "guard": 1, "admin": 2}

_bearer = HTTPBearer(auto_error=False)


def get_service(request: Request) -> IngestService:
    """The service this API belongs to."""
    service: IngestService = request.app.state.service
    return service


ServiceDep = Annotated[IngestService, Depends(get_service)]


def _find_token(service: IngestService, presented: str) -> ApiTokenConfig | None:
    found = None
    for token in service.config.api.tokens:
        # Compare every token in constant time so timing reveals nothing.
        if hmac.compare_digest(token.token.encode(), presented.encode()):
            found = token
    return found


Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def authorize(
    service: IngestService, credentials: HTTPAuthorizationCredentials | None, role: str
) -> ApiTokenConfig:
    """The caller's token if its role is ``role`` or higher; 401 or 403 otherwise."""
    token = _find_token(service, credentials.credentials) if credentials else None
    if token is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing or unknown bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if ROLE_RANK[token.role] < ROLE_RANK[role]:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, f"role {token.role} may not do this (needs {role})"
        )
    return token


def require_role(role: str) -> object:
    """A dependency that admits tokens whose role is ``role`` or higher."""

    def check(service: ServiceDep, credentials: Credentials) -> ApiTokenConfig:
        return authorize(service, credentials, role)

    return check


Viewer = Annotated[ApiTokenConfig, Depends(require_role("viewer"))]
Guard = Annotated[ApiTokenConfig, Depends(require_role("guard"))]
Admin = Annotated[ApiTokenConfig, Depends(require_role("admin"))]
