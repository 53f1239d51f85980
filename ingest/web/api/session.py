"""``GET /api/session``: who is logged in (the console checks it after a lost stream)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from ingest.web.deps import Viewer

router = APIRouter()


class Caller(BaseModel):
    """The caller: a person of the console or a token."""

    name: str
    role: str
    login: str | None
    areas: list[str]  # buildings they acknowledge alerts in; none: everywhere


@router.get("/api/session")
def whoami(caller: Viewer) -> Caller:
    """The caller's name, role and areas; 401 when not logged in."""
    return Caller(name=caller.name, role=caller.role, login=caller.login, areas=list(caller.areas))
