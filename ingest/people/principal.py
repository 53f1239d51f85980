"""Who is asking: a machine's bearer token or a person's session, with a role
(``viewer`` < ``guard`` < ``admin``, the same for both, SPEC §6 and §9)."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from ingest.config import ApiTokenConfig
from ingest.people.store import Role, Session

ROLE_RANK: dict[str, int] = {"viewer": 0, "guard": 1, "admin": 2}


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller: ``name`` is what an acknowledgement records (``acknowledged_by``)."""

    name: str
    role: Role
    login: str | None = None  # a person's login; None for a token
    session: str | None = None  # the session token, for a person logged in to the console
    areas: tuple[str, ...] = ()  # buildings they acknowledge alerts in (none: everywhere)

    def may(self, role: str) -> bool:
        """True when this caller's role is ``role`` or higher."""
        return ROLE_RANK[self.role] >= ROLE_RANK[role]

    def in_areas(self, tags: Mapping[str, str]) -> bool:
        """Whether a device with ``tags`` is in this caller's areas (SPEC §9 v3)."""
        return not self.areas or tags.get("building") in self.areas


def from_token(tokens: list[ApiTokenConfig], presented: str) -> Principal | None:
    """The principal of a bearer token, compared in constant time with every token."""
    found = None
    for token in tokens:
        if hmac.compare_digest(token.token.encode(), presented.encode()):
            found = token
    return Principal(found.name, found.role) if found else None


def from_session(session: Session) -> Principal:
    """The principal of a logged-in person."""
    person = session.person
    return Principal(person.name, person.role, person.login, session.token, person.areas)
