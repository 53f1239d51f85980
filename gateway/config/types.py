"""The value types of the gateway config: ids, ports, topic texts, field names and the
time a simulated device fails."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, StringConstraints

from campuswatch.durations import parse_clock_time, parse_duration
from campuswatch.protocol import ID_PATTERN
from campuswatch.protocol.kinds import refuse_unsafe
from campuswatch.protocol.messages import Text64

Identifier = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
DeviceId = Text64


# An MQTT topic (or a part of one) of a local broker: no wildcards, no control characters.
TopicText = Annotated[
    str, StringConstraints(min_length=1, pattern=r"^[^#+]+$"), AfterValidator(refuse_unsafe)
]


def parse_fail_at(value: Any) -> timedelta | time:
    """``5m`` (after the start) or ``"21:30"`` (the next time the clock shows it)."""
    if isinstance(value, timedelta | time):
        return value
    if isinstance(value, str) and ":" in value:
        return parse_clock_time(value)
    try:
        return parse_duration(value)
    except ValueError:
        raise ValueError(
            f"{value!r} is neither a duration after the start (5m) nor a time of day (21:30)"
        ) from None


FailAt = Annotated[timedelta | time, BeforeValidator(parse_fail_at)]
FieldName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_]{1,64}$")]
