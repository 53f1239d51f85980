"""What a person's login, name, areas and password may be (SPEC §9)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from campuswatch.protocol.kinds import UNSAFE_TEXT
from ingest.errors import IngestError

LOGIN_RE = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
NAME_RE = re.compile(f"[^{UNSAFE_TEXT}]{{1,64}}")
AREA_RE = re.compile(f"[^,{UNSAFE_TEXT}]{{1,64}}")  # a building tag; areas are kept comma-joined
MAX_AREAS = 50
MIN_PASSWORD = 8
MAX_PASSWORD = 1024


class PeopleError(IngestError):
    """A person cannot be added or changed as asked (the message says why)."""


def check_login(login: str) -> str:
    """The login if it is 1-64 of A-Z a-z 0-9 _ . @ -, else PeopleError."""
    if not LOGIN_RE.fullmatch(login):
        raise PeopleError(f"login {login[:80]!r} must be 1-64 of A-Z a-z 0-9 _ . @ -")
    return login


def check_name(name: str) -> str:
    """A display name: 1-64 characters, no control characters (trimmed)."""
    name = name.strip()
    if not NAME_RE.fullmatch(name):
        raise PeopleError("the name must be 1 to 64 characters without control characters")
    return name


def check_areas(areas: Iterable[str]) -> tuple[str, ...]:
    """Building ids (the ``building`` tag of devices): 1-64 characters each, no comma
    or control character; at most MAX_AREAS."""
    found = tuple(dict.fromkeys(a.strip() for a in areas if a.strip()))
    if len(found) > MAX_AREAS:
        raise PeopleError(f"at most {MAX_AREAS} areas")
    for area in found:
        if not AREA_RE.fullmatch(area):
            raise PeopleError(f"area {area[:80]!r}: 1 to 64 characters, no comma or control")
    return found


def check_password(password: str) -> str:
    """A password of MIN_PASSWORD to MAX_PASSWORD characters."""
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise PeopleError(f"a password has {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    return password
