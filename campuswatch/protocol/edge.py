"""What a gateway told on its own (SPEC §12): the payload of ``ROOT/SITE/GW/edge``.

While the central broker was out of reach, a gateway told its own channels of a smoke,
leak or panic alarm. When it is back, the gateway publishes one of these for each such
alarm *before* the buffered readings, so the server, seeing the alarm's reading, knows the
gateway told it and tells it once as ``edge`` instead of ``firing`` or ``late``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from campuswatch.protocol.kinds import ID_PATTERN, MAX_FUTURE_MS, MIN_TS_MS, Problem
from campuswatch.protocol.messages import Text64

EdgeKind = Literal["smoke", "leak", "panic"]
EDGE_KINDS: tuple[EdgeKind, ...] = ("smoke", "leak", "panic")
# The field of each kind that says "alarm".
ALARM_FIELDS: dict[str, str] = {"smoke": "smoke", "leak": "leak", "panic": "pressed"}
ChannelName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$")]


class EdgeTold(BaseModel):
    """One alarm a gateway told its own channels of while cut off from the server."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    v: Literal[1] = 1
    gateway: Annotated[str, StringConstraints(pattern=ID_PATTERN)]
    device: Text64
    kind: EdgeKind
    field: str
    ts: int = Field(ge=MIN_TS_MS)  # the reading that turned the alarm on
    told_ts: int = Field(ge=MIN_TS_MS)  # when the gateway queued it for its channels
    channels: list[ChannelName] = Field(default_factory=list, max_length=32)

    def model_post_init(self, __context: Any) -> None:
        """The field must be the kind's alarm field (``pressed`` for a panic button)."""
        if self.field != ALARM_FIELDS[self.kind]:
            raise ValueError(f"field of a {self.kind} alarm is {ALARM_FIELDS[self.kind]!r}")


def edge_topic(root: str, site: str, gateway: str) -> str:
    """Topic a gateway publishes what it told on its own to."""
    return f"{root}/{site}/{gateway}/edge"


def parse_edge(payload: bytes, topic_gateway: str, now_ms: int) -> EdgeTold | Problem:
    """Validate an ``edge`` payload from the gateway of its topic; its times may not be
    more than a day ahead of ``now_ms`` (as readings' may not)."""
    try:
        told = EdgeTold.model_validate_json(payload)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"]) or "(root)"
        return Problem("bad_edge", f"{loc}: {err['msg']}")
    if told.gateway != topic_gateway:
        detail = f"gateway {told.gateway!r} does not match topic gateway {topic_gateway!r}"
        return Problem("gateway_mismatch", detail)
    if max(told.ts, told.told_ts) > now_ms + MAX_FUTURE_MS:
        return Problem("bad_edge", "ts or told_ts more than a day ahead of the server's clock")
    return told
