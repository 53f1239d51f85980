"""Value types shared by the config sections (the strict base is the core's ``Strict``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, StringConstraints

from campuswatch.protocol import ID_PATTERN
from campuswatch.protocol.kinds import refuse_unsafe

Identifier = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$")]
# One line of text people write (a visitor's name, a dish, an order's title): no control
# or invisible characters, which would break a CSV row or reorder what the board shows.
Line64 = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64),
    AfterValidator(refuse_unsafe),
]
Line200 = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(refuse_unsafe),
]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
Severity = Literal["info", "warning", "critical"]
Role = Literal["viewer", "guard", "admin"]
