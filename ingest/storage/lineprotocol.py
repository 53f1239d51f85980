"""InfluxDB line protocol encoding (v1 ``/write``), with the escaping rules of SPEC §3.

Measurement names escape commas and spaces; tag keys, tag values and field keys escape
commas, equals signs and spaces; string field values escape backslashes and double
quotes. Device ids and tag values never hold a backslash or a control character (the
wire protocol refuses them); should one get here all the same, every control character
in a measurement, tag or field key is written as the visible text ``\\xNN`` (line
protocol has no escape for a line break there, and one would split the point). Booleans
are stored as integers 0/1 so dashboards can average and threshold them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import msgspec

from campuswatch.protocol import KINDS, FieldType, FieldValue
from campuswatch.protocol.kinds import EMPTY_FIELD

_CONTROLS = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))}
_TAG_ESCAPES = {**_CONTROLS, **str.maketrans({",": r"\,", "=": r"\=", " ": r"\ "})}
_MEASUREMENT_ESCAPES = {**_CONTROLS, **str.maketrans({",": r"\,", " ": r"\ "})}
# A quoted string field may hold any character (an alert's message has line breaks).
_STRING_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"'})


def escape_tag(text: str) -> str:
    """Escape a tag key, tag value or field key."""
    return text.translate(_TAG_ESCAPES)


def escape_measurement(text: str) -> str:
    """Escape a measurement name."""
    return text.translate(_MEASUREMENT_ESCAPES)


def format_value(value: FieldValue, ftype: FieldType | None = None) -> str:
    """Format one field value: bool -> 0i/1i, declared int -> Ni, str quoted, else float."""
    if value is True:
        return "1i"
    if value is False:
        return "0i"
    if isinstance(value, str):
        return '"' + value.translate(_STRING_ESCAPES) + '"'
    if ftype is FieldType.INT:
        return f"{value}i"
    return repr(float(value))


_escaped_keys: dict[str, str] = {}


def encode_fields(values: Mapping[str, FieldValue], types: Mapping[str, FieldType]) -> str:
    """Encode a field set; ``types`` marks declared integer fields (hot path, so inlined)."""
    parts = []
    for name, value in values.items():
        key = _escaped_keys.get(name)
        if key is None:
            key = escape_tag(name)
            if len(_escaped_keys) < 10_000:
                _escaped_keys[name] = key
        kind = type(value)
        if kind is float:
            parts.append(f"{key}={value!r}")
        elif kind is bool:
            parts.append(key + ("=1i" if value else "=0i"))
        else:
            parts.append(key + "=" + format_value(value, types.get(name)))
    return ",".join(parts)


# Kinds whose every field is a number: their readings' values are numbers only (a
# boolean is not a number to the validator, extra fields are kept only as numbers) under
# names of A-Z a-z 0-9 _ (FIELD_NAME_RE, or declared), which line protocol takes as they are.
NUMBER_KINDS = frozenset(
    kind
    for kind, spec in KINDS.items()
    if spec.types and all(t is FieldType.FLOAT for t in spec.types.values())
)
_JSON = msgspec.json.Encoder()
NO_FIELDS = f"{EMPTY_FIELD}=1i"  # the field set of a reading without values


def encode_number_fields(values: Sequence[Mapping[str, FieldValue]]) -> list[str]:
    """The field sets of readings of ``NUMBER_KINDS``, in one pass of C: what
    :func:`encode_fields` gives (``repr`` of Python floats cost half of it), written as
    JSON numbers are (an integer ``4`` as ``4``, not ``4.0``; ``1e16`` for ``1e+16``),
    which InfluxDB reads as the same floats. An empty field set is ``NO_FIELDS``."""
    text = _JSON.encode(values).decode()  # [{"celsius":4.25,"humidity":61.5},{...}]
    return [
        fields or NO_FIELDS for fields in text[2:-2].replace('"', "").replace(":", "=").split("},{")
    ]


def encode_point(
    measurement: str,
    tags: Mapping[str, str],
    fields: Mapping[str, FieldValue],
    ts_ms: int,
    field_types: Mapping[str, FieldType] | None = None,
) -> str:
    """Encode one point (millisecond precision); empty tag values are left out."""
    head = escape_measurement(measurement)
    for key in sorted(tags):  # InfluxDB stores faster when tags arrive sorted
        value = tags[key]
        if value:
            head += "," + escape_tag(key) + "=" + escape_tag(value)
    return f"{head} {encode_fields(fields, field_types or {})} {ts_ms}"
