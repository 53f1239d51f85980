"""Value types shared by the config sections (the strict base is the core's ``Strict``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import StringConstraints

from campuswatch.protocol import ID_PATTERN

Identifier = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$")]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
Severity = Literal["info", "warning", "critical"]
Role = Literal["viewer", "guard", "admin"]
