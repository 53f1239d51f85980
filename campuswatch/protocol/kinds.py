"""What readings are: the kinds and their typed fields (SPEC §2), the id and text rules,
and the problem report every refused part of a message gets."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Literal

PROTOCOL_VERSION = 1
MAX_ENVELOPE_BYTES = 256 * 1024
MAX_READINGS = 1000
MIN_TS_MS = 1_577_836_800_000  # 2020-01-01T00:00:00Z
MAX_FUTURE_MS = 86_400_000  # now + 1 day
MAX_INT64 = 2**63 - 1
DEFAULT_INTERVAL_S = 60

# The anchored patterns are for pydantic (whose regex engine's ``$`` is the very end);
# every Python regex below validates with ``fullmatch``: ``$`` also matches before a
# final newline there, which let "fridge\n" through once.
ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
TAG_KEY_PATTERN = r"^[a-z_]{1,32}$"
ID_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
# Characters never allowed in a name or tag value (SPEC §2), as a regex class body: C0,
# DEL and C1 controls, and the invisible format characters that reorder or hide text
# (bidi marks, embeddings, overrides and isolates, zero-width characters, line and
# paragraph separators, the byte order mark), which would spoof the board and messages.
UNSAFE_TEXT = (
    "\x00-\x1f\x7f-\x9f\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb"
)
UNSAFE_TEXT_RE = re.compile(f"[{UNSAFE_TEXT}]")


def refuse_unsafe(value: str) -> str:
    """``value`` unchanged, or ValueError when it holds an unsafe character (a pydantic
    validator for text shown to people or put into topics)."""
    bad = UNSAFE_TEXT_RE.search(value)
    if bad:
        raise ValueError(f"no control or invisible characters (U+{ord(bad.group()):04X})")
    return value


# ... and the backslash, which line protocol and InfluxQL would read as an escape.
TEXT_RE = re.compile(f"[^{UNSAFE_TEXT}\\\\]{{1,64}}")
FIELD_NAME_RE = re.compile(r"[A-Za-z0-9_]{1,64}")
SNAPSHOT_RE = re.compile(r"[A-Za-z0-9_.-]{1,128}")
# A reading without values is stored with this integer field alone (a point needs one): a
# float of that name would be refused by InfluxDB as a field type conflict.
EMPTY_FIELD = "_empty"
# InfluxDB refuses a whole point with a tag key or field named "time", and a field named
# like a tag is not told apart from it (both found by the property tests): such a tag is
# refused in meta, such a field dropped with the reason.
RESERVED_TAG_KEYS = frozenset({"site", "gateway", "device", "time", EMPTY_FIELD})
RESERVED_FIELD_NAMES = RESERVED_TAG_KEYS


class FieldType(Enum):
    """The type a known field must have on the wire."""

    BOOL = "bool"
    FLOAT = "float"
    INT = "int"
    STR = "str"


@dataclass(frozen=True, slots=True)
class KindSpec:
    """The required and optional typed fields of one reading kind; ``one_of``: at least
    one of these (optional) fields must be there (a door is a contact, a lock, or both)."""

    required: dict[str, FieldType]
    optional: dict[str, FieldType]
    one_of: tuple[str, ...] = ()
    types: dict[str, FieldType] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "types", {**self.optional, **self.required})

    def field_type(self, name: str) -> FieldType | None:
        """Return the declared type of a field, or None for an extra field."""
        return self.types.get(name)


_B, _F, _I, _S = FieldType.BOOL, FieldType.FLOAT, FieldType.INT, FieldType.STR
KINDS: dict[str, KindSpec] = {
    "door": KindSpec(
        {}, {"open": _B, "locked": _B, "battery": _F, "tamper": _B}, one_of=("open", "locked")
    ),
    "smoke": KindSpec({"smoke": _B}, {"battery_low": _B, "tamper": _B, "fault": _B}),
    "leak": KindSpec({"leak": _B}, {"battery": _F}),
    "panic": KindSpec({"pressed": _B}, {"battery": _F}),
    "motion": KindSpec({"motion": _B}, {"battery": _F, "illuminance_lx": _F}),
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
Kind = Literal[
    "door",
    "smoke",
    "leak",
    "panic",
    "motion",
    "temperature",
    "electricity",
    "water",
    "camera",
    "gateway",
]

FieldValue = bool | int | float | str


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


def json_type(value: object) -> str:
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


KNOWN_GOOD_TEXT: set[str] = set()  # device ids repeat: skip the regex for known ones


def check_text(value: object, what: str) -> str | None:
    """Return why ``value`` is not a valid device id or tag value, or None."""
    if value in KNOWN_GOOD_TEXT:
        return None
    if type(value) is not str:
        return f"{what} must be a string, got {json_type(value)}"
    if not TEXT_RE.fullmatch(value):
        if not 1 <= len(value) <= 64:
            return f"{what} must be 1 to 64 characters, got {len(value)}"
        bad = UNSAFE_TEXT_RE.search(value)
        char = f"U+{ord(bad.group()):04X}" if bad else "a backslash"
        return f"{what} must not contain control or invisible characters nor a backslash ({char})"
    if len(KNOWN_GOOD_TEXT) >= 100_000:
        KNOWN_GOOD_TEXT.clear()
    KNOWN_GOOD_TEXT.add(value)
    return None
