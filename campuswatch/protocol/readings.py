"""Validating readings envelopes on the hot path (the ingest's: the gateway never parses
envelopes, and this module needs msgspec, the server's extra; a contract in
``pyproject.toml`` keeps the gateway from importing it).

Readings are validated by a hand-written, table-driven checker rather than a pydantic
model because it sits on the hot path (tens of thousands of readings per second) and
because one bad reading must reject only itself, with a reason naming its index and
field, while the valid readings beside it are kept.

Two passes share those rules. The fast one decodes and type-checks in one go with
msgspec, straight into :class:`Reading`, then applies the checks types cannot say
(ids, kinds, time, each kind's fields); it takes only an envelope that is valid in every
part and has no key it does not know (a key skipped unread could hide bytes that are not
UTF-8 or a number JSON cannot hold). Anything else, or anything it is unsure of, goes to
the slow pass (orjson, then reading by reading), which finds every problem and keeps the
good readings. The property tests check both give the same result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec
import orjson

from campuswatch.protocol.kinds import (
    FIELD_NAME_RE,
    KINDS,
    KNOWN_GOOD_TEXT,
    MAX_ENVELOPE_BYTES,
    MAX_FUTURE_MS,
    MAX_INT64,
    MAX_READINGS,
    MIN_TS_MS,
    PROTOCOL_VERSION,
    RESERVED_FIELD_NAMES,
    SNAPSHOT_RE,
    FieldType,
    FieldValue,
    KindSpec,
    Problem,
    check_text,
    json_type,
)

_B, _F = FieldType.BOOL, FieldType.FLOAT  # the usual types, compared by identity below


class Reading(msgspec.Struct, frozen=True, forbid_unknown_fields=True, gc=False):
    """One validated reading: values hold only fields of their declared types.

    A msgspec struct, so the fast pass decodes straight into it (a frozen dataclass
    built afterwards cost half a microsecond a reading, a third of the validation);
    never in a reference cycle (its values are numbers, booleans and text), so the
    garbage collector need not track it."""

    device: str
    kind: str
    ts: int
    values: dict[str, FieldValue]


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
        return None if type(value) is bool else f"must be a boolean, got {json_type(value)}"
    if ftype is FieldType.FLOAT:
        if not _is_number(value):
            return f"must be a number, got {json_type(value)}"
        if type(value) is int and abs(value) > MAX_INT64:
            return "number out of range"
        return None
    if ftype is FieldType.INT:
        if not _is_int(value):
            return f"must be an integer, got {json_type(value)}"
        return None if abs(value) <= MAX_INT64 else "integer out of range"  # type: ignore[arg-type]
    if type(value) is not str or not SNAPSHOT_RE.fullmatch(value):
        return f"{name} must be 1-128 characters of A-Z a-z 0-9 _ . -"
    return None


def validate_reading(
    raw: object, index: int, now_ms: int, dropped: list[Problem], oldest_ms: int = MIN_TS_MS
) -> Reading | Problem:
    """Validate one reading of an envelope; extra fields that cannot be kept go to ``dropped``.
    ``oldest_ms``: the oldest ``ts`` storage keeps (the retention), if after 2020."""
    if type(raw) is not dict:
        return Problem("bad_reading", f"must be an object, got {json_type(raw)}", index)
    device = raw.get("device")
    if device not in KNOWN_GOOD_TEXT:  # inline fast path: this runs for every reading
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
    if ts < oldest_ms:
        why = f"ts {ts} is older than what storage keeps (influx.keep_days)"
        return Problem("too_old", why, index, "ts")
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
    if spec.one_of and not any(name in values for name in spec.one_of):
        wanted = " or ".join(repr(name) for name in spec.one_of)
        return Problem("missing_field", f"needs at least one of {wanted}", index, spec.one_of[0])
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
        elif not FIELD_NAME_RE.fullmatch(name) or name in RESERVED_FIELD_NAMES:
            dropped.append(Problem("bad_field_name", f"field name {name!r} dropped", index, name))
        elif _is_number(value) and abs(value) <= MAX_INT64:
            kept[name] = float(value)
        else:
            dropped.append(
                Problem("non_numeric_field", f"extra field {name!r} is not numeric", index, name)
            )
    return kept


class _Envelope(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """The shape of a readings envelope, for the fast pass."""

    v: int
    gateway: str
    seq: int
    readings: list[Reading]


_DECODER = msgspec.json.Decoder(_Envelope)


def _parse_valid(
    payload: bytes, topic_gateway: str, now_ms: int, oldest_ms: int
) -> ParsedEnvelope | None:
    """The fast pass: the envelope when it is valid in every part, else None."""
    try:
        doc = _DECODER.decode(payload)
    except (msgspec.DecodeError, RecursionError):  # not JSON, not of the shape, too deep:
        return None  # the slow pass says why
    if not (
        doc.v == PROTOCOL_VERSION
        and doc.gateway == topic_gateway
        and 0 <= doc.seq <= MAX_INT64
        and 1 <= len(doc.readings) <= MAX_READINGS
    ):
        return None
    earliest, latest = max(oldest_ms, MIN_TS_MS), now_ms + MAX_FUTURE_MS
    unused: list[Problem] = []
    for r in doc.readings:
        if r.device not in KNOWN_GOOD_TEXT and check_text(r.device, "device"):
            return None
        spec = KINDS.get(r.kind)
        if spec is None or not earliest <= r.ts <= latest:
            return None
        if _check_values(r.values, spec, 0, unused) is not r.values:  # refused or trimmed
            return None
    return ParsedEnvelope(doc.seq, doc.readings)


def parse_envelope(
    payload: bytes, topic_gateway: str, now_ms: int, oldest_ms: int = MIN_TS_MS
) -> ParsedEnvelope:
    """Validate a readings payload received on a topic of gateway ``topic_gateway``;
    readings older than ``oldest_ms`` (what storage keeps) are refused."""
    if len(payload) > MAX_ENVELOPE_BYTES:
        detail = f"payload is {len(payload)} bytes, limit {MAX_ENVELOPE_BYTES}"
        return ParsedEnvelope(rejected=[Problem("too_large", detail)])
    valid = _parse_valid(payload, topic_gateway, now_ms, oldest_ms)
    return valid if valid is not None else _parse_each(payload, topic_gateway, now_ms, oldest_ms)


def _parse_each(payload: bytes, topic_gateway: str, now_ms: int, oldest_ms: int) -> ParsedEnvelope:
    """The slow pass: every problem of the envelope and of each reading, and the valid
    readings beside the bad ones."""
    out = ParsedEnvelope()
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
        result = validate_reading(raw, index, now_ms, out.dropped, oldest_ms)
        if isinstance(result, Reading):
            out.readings.append(result)
        else:
            out.rejected.append(result)
    return out


def _check_envelope(doc: object, topic_gateway: str) -> Problem | None:
    if type(doc) is not dict:
        return Problem("bad_envelope", f"envelope must be an object, got {json_type(doc)}")
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
