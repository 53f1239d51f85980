"""Building blocks shared by the config sections: the strict base model and common types."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from gateway.protocol import ID_PATTERN

Identifier = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$")]
Port = Annotated[int, Field(ge=1, le=65535)]
Url = Annotated[str, StringConstraints(pattern=r"^https?://[^\s]+$")]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
Severity = Literal["info", "warning", "critical"]
Role = Literal["viewer", "guard", "admin"]


class Strict(BaseModel):
    """Base of every config section: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
