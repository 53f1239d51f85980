"""Wire protocol version 1 (SPEC §2): topics, readings envelopes, meta and status.

Both sides import this module: the gateway builds messages with the pydantic models,
the ingest validates what arrives with :func:`parse_envelope`, :func:`parse_meta` and
:func:`parse_status`.

Readings are validated by a hand-written, table-driven checker rather than a pydantic
model because it sits on the hot path (tens of thousands of readings per second) and
because one bad reading must reject only itself, with a reason naming its index and
field, while the valid readings beside it are kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

PROTOCOL_VERSION = 1
MAX_ENVELOPE_BYTES = 256 * 1024
MAX_READINGS = 1000
MIN_TS_MS = 1_577_836_800_000  # 2020-01-01T00:00:00Z
MAX_FUTURE_MS = 86_400_000  # now + 1 day
MAX_INT64 = 2**63 - 1
DEFAULT_INTERVAL_S = 60

ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
TAG_KEY_PATTERN = r"^[a-z_]{1,32}$"
_ID_RE = re.compile(ID_PATTERN)
# Control characters (C0, DEL, C1) and the backslash are refused in names and tag values.
_TEXT_RE = re.compile(r"^[^\x00-\x1f\x7f-\x9f\\]{1,64}$")
_FIELD_NAME_RE = re.compile(r"^[A-Za-z0-9_]{1,64}$")
_SNAPSHOT_RE = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
RESERVED_TAG_KEYS = frozenset({"site", "gateway", "device"})


class FieldType(Enum):
    """The type a known field must have on the wire."""

    BOOL = "bool"
    FLOAT = "float"
    INT = "int"
    STR = "str"


@dataclass(frozen=True, slots=True)
class KindSpec:
    """The required and optional typed fields of one reading kind."""

    required: dict[str, FieldType]
    optional: dict[str, FieldType]
    types: dict[str, FieldType] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "types", {**self.optional, **self.required})

    def field_type(self, name: str) -> FieldType | None:
        """Return the declared type of a field, or None for an extra field."""
        return self.types.get(name)


_B, _F, _I, _S = FieldType.BOOL, FieldType.FLOAT, FieldType.INT, FieldType.STR
KINDS: dict[str, KindSpec] = {
    "door": KindSpec({"open": _B}, {"locked": _B, "battery": _F, "tamper": _B}),
    "smoke": KindSpec({"smoke": _B}, {"battery_low": _B, "tamper": _B, "fault": _B}),
    "temperature": KindSpec({"celsius": _F}, {"humidity": _F}),
    "electricity": KindSpec({"energy_kwh": _F}, {"power_w": _F, "voltage_v": _F, "current_a": _F}),
    "water": KindSpec({"volume_m3": _F}, {"flow_m3h": _F}),
    "camera": KindSpec({"motion": _B}, {"persons": _I, "tamper": _B, "online": _B, "snapshot": _S}),
    "gateway": KindSpec({}, {}),
}
# Gateway health readings (kind ``gateway``) carry these numeric fields (SPEC §3).
GATEWAY_HEALTH_FIELDS = (
    "uptime_s",
    "buffer_depth",
    "buffer_dropped",
    "publish_errors",
    "cpu_temp_c",
)
Kind = Literal["door", "smoke", "temperature", "electricity", "water", "camera", "gateway"]

FieldValue = bool | int | float | str


# --------------------------------------------------------------------------- topics


def readings_topic(root: str, site: str, gateway: str) -> str:
    """Topic a gateway publishes readings envelopes to."""
    return f"{root}/{site}/{gateway}/readings"


def meta_topic(root: str, site: str, gateway: str) -> str:
    """Retained topic holding a gateway's device registry."""
    return f"{root}/{site}/{gateway}/meta"


def status_topic(root: str, site: str, gateway: str) -> str:
    """Retained topic holding a gateway's online/offline status (and its last will)."""
    return f"{root}/{site}/{gateway}/status"


def snapshot_topic(root: str, site: str, gateway: str, device: str, snapshot_id: str) -> str:
    """Topic of one camera snapshot (a JPEG) that a camera reading refers to."""
    return f"{root}/{site}/{gateway}/snapshots/{device}/{snapshot_id}"


@dataclass(frozen=True, slots=True)
class Topic:
    """A parsed campuswatch topic: ROOT/SITE/GW/CHANNEL[/...]."""

    site: str
    gateway: str
    channel: str
    rest: tuple[str, ...] = ()


def parse_topic(root: str, topic: str) -> Topic | None:
    """Split a topic under ``root``; None when it is not a well-formed campuswatch topic."""
    parts = topic.split("/")
    root_parts = root.split("/")
    n = len(root_parts)
    if len(parts) < n + 3 or parts[:n] != root_parts:
        return None
    site, gateway, channel = parts[n], parts[n + 1], parts[n + 2]
    if not (_ID_RE.match(site) and _ID_RE.match(gateway)):
        return None
    return Topic(site, gateway, channel, tuple(parts[n + 3 :]))


# --------------------------------------------------------------------------- readings


@dataclass(frozen=True, slots=True)
class Reading:
    """One validated reading: values hold only fields of their declared types."""

    device: str
    kind: str
    ts: int
    values: dict[str, FieldValue]


@dataclass(frozen=True, slots=True)
class Problem:
    """Why (part of) a message was refused: ``code`` is a short counter label."""

    code: str
    detail: str
    index: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = ""
        if self.index is not None:
            where = f"readings[{self.index}]"
            if self.field is not None:
                where += f".{self.field}"
            where += ": "
        return f"{where}{self.detail}"


@dataclass(slots=True)
class ParsedEnvelope:
    """The outcome of validating one readings payload."""

    seq: int | None = None
    readings: list[Reading] = field(default_factory=list)
    rejected: list[Problem] = field(default_factory=list)  # whole envelope or single readings
    dropped: list[Problem] = field(default_factory=list)  # extra fields left out of a reading

    @property
    def envelope_rejected(self) -> bool:
        """True when nothing of the payload could be used."""
        return self.seq is None


def _is_int(value: object) -> bool:
    return type(value) is int


def _is_number(value: object) -> bool:
    return type(value) is int or type(value) is float


def _check_value(name: str, ftype: FieldType, value: object) -> str | None:
    """Return why ``value`` is not a valid ``ftype``, or None when it is."""
    if ftype is FieldType.BOOL:
        return None if type(value) is bool else f"must be a boolean, got {_json_type(value)}"
    if ftype is FieldType.FLOAT:
        if not _is_number(value):
            return f"must be a number, got {_json_type(value)}"
        if type(value) is int and abs(value) > MAX_INT64:
            return "number out of range"
        return None
    if ftype is FieldType.INT:
        if not _is_int(value):
            return f"must be an integer, got {_json_type(value)}"
        return None if abs(value) <= MAX_INT64 else "integer out of range"  # type: ignore[arg-type]
    if type(value) is not str or not _SNAPSHOT_RE.match(value):
        return f"{name} must be 1-128 characters of A-Z a-z 0-9 _ . -"
    return None


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


_known_good_text: set[str] = set()  # device ids repeat: skip the regex for known ones


def check_text(value: object, what: str) -> str | None:
    """Return why ``value`` is not a valid device id or tag value, or None."""
    if value in _known_good_text:
        return None
    if type(value) is not str:
        return f"{what} must be a string, got {_json_type(value)}"
    if not _TEXT_RE.match(value):
        if not 1 <= len(value) <= 64:
            return f"{what} must be 1 to 64 characters, got {len(value)}"
        return f"{what} must not contain control characters or a backslash"
    if len(_known_good_text) >= 100_000:
        _known_good_text.clear()
    _known_good_text.add(value)
    return None


def validate_reading(
    raw: object, index: int, now_ms: int, dropped: list[Problem]
) -> Reading | Problem:
    """Validate one reading of an envelope; extra fields that cannot be kept go to ``dropped``."""
    if type(raw) is not dict:
        return Problem("bad_reading", f"must be an object, got {_json_type(raw)}", index)
    device = raw.get("device")
    if device not in _known_good_text:  # inline fast path: this runs for every reading
        why = check_text(device, "device")
        if why:
            return Problem("bad_device", why, index, "device")
    kind = raw.get("kind")
    spec = KINDS.get(kind) if type(kind) is str else None
    if spec is None:
        return Problem("unknown_kind", f"unknown kind {kind!r}", index, "kind")
    ts = raw.get("ts")
    if type(ts) is not int:
        return Problem("bad_ts", f"ts must be integer epoch milliseconds, got {ts!r}", index, "ts")
    if not MIN_TS_MS <= ts <= now_ms + MAX_FUTURE_MS:
        return Problem(
            "bad_ts", f"ts {ts} is before 2020-01-01 or more than a day ahead", index, "ts"
        )
    values = raw.get("values")
    if type(values) is not dict:
        return Problem("bad_values", "values must be an object", index, "values")
    kept = _check_values(values, spec, index, dropped)
    if isinstance(kept, Problem):
        return kept
    return Reading(device, kind, ts, kept)  # type: ignore[arg-type]


def _check_values(
    values: dict[str, Any], spec: KindSpec, index: int, dropped: list[Problem]
) -> dict[str, FieldValue] | Problem:
    for name in spec.required:
        if name not in values:
            return Problem("missing_field", f"required field {name!r} is missing", index, name)
    # Fast path for the usual reading: only declared fields, each of the right type.
    types = spec.types
    for name, value in values.items():
        ftype = types.get(name)
        kind = type(value)
        if ftype is _F:
            if kind is float or (kind is int and -MAX_INT64 <= value <= MAX_INT64):
                continue
        elif ftype is _B:
            if kind is bool:
                continue
        elif ftype is None:
            break  # an extra field: sort them out below
        elif _check_value(name, ftype, value) is None:
            continue
        why = _check_value(name, ftype, value) or "value out of range"
        return Problem("wrong_type", f"{name} {why}", index, name)
    else:
        return values
    return _keep_declared_and_numeric(values, spec, index, dropped)


def _keep_declared_and_numeric(
    values: dict[str, Any], spec: KindSpec, index: int, dropped: list[Problem]
) -> dict[str, FieldValue] | Problem:
    kept: dict[str, FieldValue] = {}
    for name, value in values.items():
        ftype = spec.field_type(name)
        if ftype is not None:
            why = _check_value(name, ftype, value)
            if why:
                return Problem("wrong_type", f"{name} {why}", index, name)
            kept[name] = value
        elif not _FIELD_NAME_RE.match(name):
            dropped.append(Problem("bad_field_name", f"field name {name!r} dropped", index, name))
        elif _is_number(value) and abs(value) <= MAX_INT64:
            kept[name] = float(value)
        else:
            dropped.append(
                Problem("non_numeric_field", f"extra field {name!r} is not numeric", index, name)
            )
    return kept


def parse_envelope(payload: bytes, topic_gateway: str, now_ms: int) -> ParsedEnvelope:
    """Validate a readings payload received on a topic of gateway ``topic_gateway``."""
    out = ParsedEnvelope()
    if len(payload) > MAX_ENVELOPE_BYTES:
        out.rejected.append(
            Problem("too_large", f"payload is {len(payload)} bytes, limit {MAX_ENVELOPE_BYTES}")
        )
        return out
    try:
        doc = orjson.loads(payload)  # strict RFC 8259: NaN and Infinity are refused
    except orjson.JSONDecodeError as exc:
        out.rejected.append(Problem("not_json", f"not JSON: {exc}"))
        return out
    problem = _check_envelope(doc, topic_gateway)
    if problem:
        out.rejected.append(problem)
        return out
    out.seq = doc["seq"]
    for index, raw in enumerate(doc["readings"]):
        result = validate_reading(raw, index, now_ms, out.dropped)
        if isinstance(result, Reading):
            out.readings.append(result)
        else:
            out.rejected.append(result)
    return out


def _check_envelope(doc: object, topic_gateway: str) -> Problem | None:
    if type(doc) is not dict:
        return Problem("bad_envelope", f"envelope must be an object, got {_json_type(doc)}")
    if not (_is_int(doc.get("v")) and doc["v"] == PROTOCOL_VERSION):
        return Problem("bad_version", f"v must be {PROTOCOL_VERSION}, got {doc.get('v')!r}")
    if doc.get("gateway") != topic_gateway:
        return Problem(
            "gateway_mismatch",
            f"gateway {doc.get('gateway')!r} does not match topic gateway {topic_gateway!r}",
        )
    seq = doc.get("seq")
    if type(seq) is not int or not 0 <= seq <= MAX_INT64:
        return Problem("bad_seq", f"seq must be a non-negative integer, got {seq!r}")
    readings = doc.get("readings")
    if type(readings) is not list:
        return Problem("bad_envelope", "readings must be an array")
    if not 1 <= len(readings) <= MAX_READINGS:
        return Problem(
            "bad_count", f"an envelope holds 1 to {MAX_READINGS} readings, got {len(readings)}"
        )
    return None


# --------------------------------------------------------------------------- models

GatewayId = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
TagKey = Annotated[str, StringConstraints(pattern=TAG_KEY_PATTERN)]
Text64 = Annotated[str, StringConstraints(pattern=_TEXT_RE.pattern)]


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
    name: str | None = Field(default=None, max_length=128)
    interval_s: int = Field(default=DEFAULT_INTERVAL_S, gt=0, le=86_400)
    tags: dict[TagKey, Text64] = Field(default_factory=dict)

    def model_post_init(self, __context: Any) -> None:
        """Refuse tag keys that would overwrite the tags the ingest sets itself."""
        clash = RESERVED_TAG_KEYS.intersection(self.tags)
        if clash:
            raise ValueError(f"tag keys {sorted(clash)} are reserved")


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
    if not (_is_int(doc.get("v")) and doc["v"] == PROTOCOL_VERSION):
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
