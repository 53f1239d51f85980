"""Meta, status and readings envelopes as pydantic models: the gateway builds them, the
ingest validates meta and status with :func:`parse_meta` and :func:`parse_status`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

import orjson
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from campuswatch.protocol.kinds import (
    DEFAULT_INTERVAL_S,
    ID_PATTERN,
    KINDS,
    MAX_READINGS,
    MIN_TS_MS,
    PROTOCOL_VERSION,
    RESERVED_TAG_KEYS,
    TAG_KEY_PATTERN,
    FieldValue,
    Kind,
    Problem,
    check_text,
    refuse_unsafe,
)

GatewayId = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
TagKey = Annotated[str, StringConstraints(pattern=TAG_KEY_PATTERN)]


def _text64(value: str) -> str:
    why = check_text(value, "text")
    if why:
        raise ValueError(why)
    return value


Text64 = Annotated[str, AfterValidator(_text64)]


# A device's name is shown in messages, pages and reports: text on one line (no control
# characters, so no line break that would start a forged heading in a robot message, and
# no bidi override or invisible character that would make it read as something else).
Name128 = Annotated[str, StringConstraints(max_length=128), AfterValidator(refuse_unsafe)]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReadingModel(_Wire):
    """A reading as a gateway builds it (validated again by the ingest)."""

    device: Text64
    kind: Kind
    ts: int = Field(ge=MIN_TS_MS)
    values: dict[str, FieldValue]


class ReadingsEnvelope(_Wire):
    """The payload of ``ROOT/SITE/GW/readings``."""

    v: Literal[1] = 1
    gateway: GatewayId
    seq: int = Field(ge=0)
    readings: list[ReadingModel] = Field(min_length=1, max_length=MAX_READINGS)

    def to_json(self) -> bytes:
        """Serialise as compact strict JSON."""
        return orjson.dumps(self.model_dump())


class DeviceInfo(_Wire):
    """One device of a gateway's registry (its meta message)."""

    device: Text64
    kind: Kind
    name: Name128 | None = None
    interval_s: int = Field(default=DEFAULT_INTERVAL_S, gt=0, le=86_400)
    tags: dict[TagKey, Text64] = Field(default_factory=dict)

    def model_post_init(self, __context: Any) -> None:
        """Refuse tag keys that would overwrite the tags the ingest sets itself, and tag
        keys named like a field of the kind (a query could not tell the two apart)."""
        clash = RESERVED_TAG_KEYS.intersection(self.tags)
        if clash:
            raise ValueError(f"tag keys {sorted(clash)} are reserved")
        fields = set(KINDS[self.kind].types).intersection(self.tags)
        if fields:
            raise ValueError(f"tag keys {sorted(fields)} are fields of a {self.kind} reading")


class Meta(_Wire):
    """The retained payload of ``ROOT/SITE/GW/meta``."""

    v: Literal[1] = 1
    gateway: GatewayId
    devices: list[DeviceInfo]


class Status(_Wire):
    """The retained payload of ``ROOT/SITE/GW/status`` (also the gateway's last will)."""

    state: Literal["online", "offline", "stopped"]
    ts: int = Field(ge=0)
    version: str = Field(default="", max_length=64)


@dataclass(slots=True)
class ParsedMeta:
    """A meta message: the valid devices, and a problem for each refused one."""

    devices: list[DeviceInfo]
    rejected: list[Problem]


def parse_meta(payload: bytes, topic_gateway: str) -> ParsedMeta:
    """Validate a meta payload; a bad device entry is refused alone, the rest kept."""
    try:
        doc = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        return ParsedMeta([], [Problem("not_json", f"not JSON: {exc}")])
    if type(doc) is not dict or type(doc.get("devices")) is not list:
        return ParsedMeta([], [Problem("bad_meta", "meta must be an object with a devices array")])
    if not (type(doc.get("v")) is int and doc["v"] == PROTOCOL_VERSION):
        return ParsedMeta([], [Problem("bad_version", f"v must be 1, got {doc.get('v')!r}")])
    if doc.get("gateway") != topic_gateway:
        detail = f"gateway {doc.get('gateway')!r} does not match topic gateway {topic_gateway!r}"
        return ParsedMeta([], [Problem("gateway_mismatch", detail)])
    devices: list[DeviceInfo] = []
    rejected: list[Problem] = []
    for index, raw in enumerate(doc["devices"]):
        try:
            devices.append(DeviceInfo.model_validate(raw))
        except ValidationError as exc:
            rejected.append(Problem("bad_device_meta", _first_error(exc), index))
    return ParsedMeta(devices, rejected)


def parse_status(payload: bytes) -> Status | Problem:
    """Validate a status payload."""
    try:
        return Status.model_validate_json(payload)
    except ValidationError as exc:
        return Problem("bad_status", _first_error(exc))


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"]) or "(root)"
    return f"{loc}: {err['msg']}"
