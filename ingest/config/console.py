"""The ``console:`` section: people's sessions, login throttling and ack links (SPEC §9)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from pydantic import Field

from campuswatch.configfile import Strict
from campuswatch.durations import Duration


class ConsoleConfig(Strict):
    """How long sessions and ack links last and how logins are protected."""

    # A session unused for this long is over (an open board keeps its session alive).
    session_idle: Duration = timedelta(hours=12)
    # ... and every session is over after this long, used or not.
    session_max: Duration = timedelta(days=7)
    # After this many failed logins in a row a login waits 1, 2, 4 ... s between tries ...
    slow_after: Annotated[int, Field(ge=1, le=100)] = 3
    # ... and after this many it is locked for ``lockout``.
    lock_after: Annotated[int, Field(ge=2, le=1000)] = 10
    lockout: Duration = timedelta(minutes=15)
    # Login attempts from one client address per minute, refused before any password is
    # checked. Behind a reverse proxy every client has the proxy's address: raise it.
    logins_per_address: Annotated[int, Field(ge=1, le=100_000)] = 20
    # An ack link in a notification works this long (and once).
    ack_link_valid: Duration = timedelta(hours=24)
