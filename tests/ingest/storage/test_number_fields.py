"""Readings of kinds whose fields are all numbers are encoded in one pass of C
(``encode_number_fields``); InfluxDB must read the very same fields from it as from
the general encoder (``encode_fields``), whatever numbers the validator lets through."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from campuswatch.protocol import KINDS, FieldType
from campuswatch.protocol.kinds import MAX_INT64
from ingest.storage.lineprotocol import NUMBER_KINDS, encode_fields, encode_number_fields

_NUMBERS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),  # JSON has neither
    st.integers(-MAX_INT64, MAX_INT64),  # the validator's bounds for a number field
)
_NAMES = st.one_of(
    st.sampled_from(sorted({n for k in NUMBER_KINDS for n in KINDS[k].types})),
    st.from_regex(r"[A-Za-z0-9_]{1,64}", fullmatch=True),  # extra fields the slow pass keeps
)
_VALUES = st.lists(st.dictionaries(_NAMES, _NUMBERS, max_size=6), min_size=1, max_size=20)


def _read(fields: str) -> list[tuple[str, float]]:
    """The fields as InfluxDB takes them: a name and a float (no ``i``: not an integer)."""
    pairs = [field.split("=") for field in fields.split(",")]
    assert all(not value.endswith("i") for _name, value in pairs if _name != "_empty")
    return [(name, float(value.removesuffix("i"))) for name, value in pairs]


def test_the_number_kinds_are_those_of_number_fields_only() -> None:
    assert {"temperature", "electricity", "water"} == NUMBER_KINDS
    assert all(t is FieldType.FLOAT for kind in NUMBER_KINDS for t in KINDS[kind].types.values())


@settings(max_examples=300, deadline=None)
@given(values=_VALUES)
def test_influxdb_reads_the_same_fields(values: list[dict[str, float | int]]) -> None:
    fast = encode_number_fields(values)
    assert len(fast) == len(values)
    for one, text in zip(values, fast, strict=True):
        assert _read(text) == _read(encode_fields(one, {}) or "_empty=1i")


def test_json_number_forms_are_line_protocol_floats() -> None:
    assert encode_number_fields([{"a": 4}, {"b": 1e16, "c": -0.0}, {}, {"d": 1e-7}]) == [
        "a=4",
        "b=1e16,c=-0.0",
        "_empty=1i",
        "d=1e-7",
    ]
