"""Readings of kinds whose fields are all numbers are encoded in one pass of C
(``encode_number_fields``); InfluxDB must read the very same fields from it as from
the general encoder (``encode_fields``), whatever numbers the validator lets through."""

from __future__ import annotations

import re

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from campuswatch.protocol import KINDS, FieldType
from campuswatch.protocol.kinds import MAX_INT64
from campuswatch.protocol.readings import parse_envelope
from ingest.storage.lineprotocol import (
    NO_FIELDS,
    NUMBER_KINDS,
    encode_fields,
    encode_number_fields,
)

_NUMBERS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),  # JSON has neither
    st.integers(-MAX_INT64, MAX_INT64),  # the validator's bounds for a number field
)
_NAMES = st.one_of(
    st.sampled_from(sorted({n for k in NUMBER_KINDS for n in KINDS[k].types})),
    st.from_regex(r"[A-Za-z0-9_]{1,64}", fullmatch=True),  # extra fields the slow pass keeps
)
NOW = 1_795_459_258_120
_VALUES = st.lists(st.dictionaries(_NAMES, _NUMBERS, max_size=6), min_size=1, max_size=20)


# A float as line protocol writes one (InfluxDB's parser: no "inf", "nan", "_" or spaces).
_FLOAT = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")


def _read(fields: str) -> list[tuple[str, float]]:
    """The fields as InfluxDB takes them: a name and a float (no ``i``: not an integer)."""
    if fields == NO_FIELDS:
        return [("_empty", 1.0)]
    pairs = [field.split("=") for field in fields.split(",")]
    assert all(_FLOAT.fullmatch(value) for _name, value in pairs), fields
    return [(name, float(value)) for name, value in pairs]


def test_the_number_kinds_are_those_of_number_fields_only() -> None:
    assert {"temperature", "electricity", "water"} == NUMBER_KINDS
    assert all(t is FieldType.FLOAT for kind in NUMBER_KINDS for t in KINDS[kind].types.values())


@settings(max_examples=300, deadline=None)
@given(values=_VALUES)
def test_influxdb_reads_the_same_fields(values: list[dict[str, float | int]]) -> None:
    fast = encode_number_fields(values)
    assert len(fast) == len(values)
    for one, text in zip(values, fast, strict=True):
        assert _read(text) == _read(encode_fields(one, {}) or NO_FIELDS)


def test_json_number_forms_are_line_protocol_floats() -> None:
    assert encode_number_fields([{"a": 4}, {"b": 1e16, "c": -0.0}, {}, {"d": 1e-7}]) == [
        "a=4",
        "b=1e16,c=-0.0",
        NO_FIELDS,
        "d=1e-7",
    ]


@settings(max_examples=200, deadline=None)
@given(values=_VALUES, kind=st.sampled_from(sorted(NUMBER_KINDS)))
def test_what_the_validator_keeps_encodes_the_same(
    values: list[dict[str, float | int]], kind: str
) -> None:
    """Through the real validator (whichever pass takes the envelope, extra fields and
    all): the readings it keeps encode to the same fields both ways."""
    required = next(iter(KINDS[kind].required))
    envelope = {
        "v": 1,
        "gateway": "gw-1",
        "seq": 1,
        "readings": [
            {"device": f"d-{n}", "kind": kind, "ts": NOW, "values": {required: 1.5, **one}}
            for n, one in enumerate(values)
        ],
    }
    parsed = parse_envelope(orjson.dumps(envelope), "gw-1", NOW)
    kept = [r.values for r in parsed.readings]
    types = KINDS[kind].types
    fast = encode_number_fields(kept)
    assert [_read(f) for f in fast] == [_read(encode_fields(v, types) or NO_FIELDS) for v in kept]
