"""The fast pass of the envelope validator (msgspec) takes only what the slow pass would
take whole, and then gives the very same readings (campuswatch/protocol/readings.py)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from campuswatch.protocol import KINDS, MIN_TS_MS, FieldType
from campuswatch.protocol.kinds import MAX_INT64
from campuswatch.protocol.readings import _parse_each, _parse_valid, parse_envelope

NOW = 1_795_459_258_120
OLDEST = NOW - 30 * 86_400_000  # a retention, as influx.keep_days sets one

_VALUE_OF = {
    FieldType.BOOL: st.booleans(),
    FieldType.FLOAT: st.one_of(st.floats(-1e6, 1e6), st.integers(-(10**6), 10**6)),
    FieldType.INT: st.integers(-(10**9), 10**9),
    FieldType.STR: st.from_regex(r"[A-Za-z0-9_.-]{1,12}", fullmatch=True),
}
_ANY_VALUE = st.one_of(
    st.booleans(),
    st.integers(-(2**65), 2**65),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=4),
    st.none(),
    st.lists(st.integers(), max_size=2),
)
_DEVICES = st.sampled_from(
    ["fridge-1", "门 1, 东=侧", "x" * 64, "", "x" * 65, "a\\b", "a\u200bb", "a\nb", 7, None]
)
_TIMES = st.sampled_from(  # at and beyond each bound, and not integers
    [MIN_TS_MS - 1, OLDEST - 1, OLDEST, NOW + 86_400_000, NOW + 86_400_001, 1.5e12, True]
)


@st.composite
def good_readings(draw: st.DrawFn) -> dict[str, Any]:
    """A reading valid in every part."""
    kind = draw(st.sampled_from(sorted(KINDS)))
    spec = KINDS[kind]
    optional = (
        draw(st.lists(st.sampled_from(sorted(spec.optional)), unique=True)) if spec.optional else []
    )
    names = [*spec.required, *optional]
    if spec.one_of and not any(n in names for n in spec.one_of):
        names.append(spec.one_of[0])
    values = {name: draw(_VALUE_OF[spec.types[name]]) for name in names}
    return {"device": "fridge-1", "kind": kind, "ts": NOW - 60_000, "values": values}


@st.composite
def readings(draw: st.DrawFn) -> Any:
    """A good reading, one with a part changed, or anything at all."""
    reading = draw(good_readings())
    hows = ["good", "device", "kind", "ts", "value", "extra", "drop", "any"]
    how = hows[max(0, draw(st.integers(-7, 7)))]  # half of them good
    if how == "device":
        reading["device"] = draw(_DEVICES)
    elif how == "kind":
        reading["kind"] = draw(st.sampled_from(["nope", 3, None, *sorted(KINDS)]))
    elif how == "ts":
        reading["ts"] = draw(_TIMES)
    elif how == "value" and reading["values"]:
        name = draw(st.sampled_from(sorted(reading["values"])))
        reading["values"][name] = draw(_ANY_VALUE)
    elif how == "extra":
        name = draw(st.sampled_from(["extra", "time", "site", "bad name", "ok_2"]))
        reading["values"][name] = draw(_ANY_VALUE)
    elif how == "drop":
        del reading[draw(st.sampled_from(sorted(reading)))]
    elif how == "any":
        return draw(_ANY_VALUE)
    return reading


@st.composite
def payloads(draw: st.DrawFn) -> bytes:
    """An envelope, most of them valid but for their readings."""
    doc: dict[str, Any] = {
        "v": 1,
        "gateway": "gw-a",
        "seq": draw(st.integers(0, 10)),
        "readings": draw(st.lists(readings(), max_size=4)),
    }
    hows = ["good", "v", "gateway", "seq", "extra", "drop"]
    how = hows[max(0, draw(st.integers(-10, 5)))]  # two in three good
    if how == "v":
        doc["v"] = draw(st.sampled_from([2, True, 1.0, "1"]))
    elif how == "gateway":
        doc["gateway"] = draw(st.sampled_from(["gw-b", "", None]))
    elif how == "seq":
        doc["seq"] = draw(st.sampled_from([-1, MAX_INT64, MAX_INT64 + 1, True, 1.0]))
    elif how == "extra":
        doc["extra"] = draw(_ANY_VALUE)
    elif how == "drop":
        del doc[draw(st.sampled_from(sorted(doc)))]
    text = json.dumps(doc, ensure_ascii=draw(st.booleans()))  # big ints, unlike orjson
    return text.encode()


@settings(max_examples=600, deadline=None)
@given(payloads())
def test_the_fast_pass_takes_only_whole_envelopes_and_reads_them_as_the_slow_one(
    payload: bytes,
) -> None:
    slow = _parse_each(payload, "gw-a", NOW, OLDEST)
    fast = _parse_valid(payload, "gw-a", NOW, OLDEST)
    whole = slow.seq is not None and slow.readings and not slow.rejected and not slow.dropped
    if fast is not None:
        assert whole
        assert fast == slow
        assert [type(v) for r in fast.readings for v in r.values.values()] == [
            type(v) for r in slow.readings for v in r.values.values()
        ]
    assert parse_envelope(payload, "gw-a", NOW, OLDEST) == slow


@settings(max_examples=200, deadline=None)
@given(st.lists(good_readings(), min_size=1, max_size=5))
def test_every_whole_envelope_takes_the_fast_pass(batch: list[dict[str, Any]]) -> None:
    payload = json.dumps({"v": 1, "gateway": "gw-a", "seq": 3, "readings": batch}).encode()
    fast = _parse_valid(payload, "gw-a", NOW, OLDEST)
    assert fast is not None
    assert [r.values for r in fast.readings] == [r["values"] for r in batch]


def test_deep_nesting_goes_to_the_slow_pass_and_is_refused_there() -> None:
    deep = b'{"v":1,"gateway":"gw-a","seq":1,"x":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert _parse_valid(deep, "gw-a", NOW, OLDEST) is None
    assert [p.code for p in parse_envelope(deep, "gw-a", NOW).rejected] == ["not_json"]


_FRAGMENTS = [
    b"4.5",
    b"-0",
    b"1E2",
    b"1e309",
    b"9" * 400,
    b"18446744073709551616",
    b'"\xff"',
    b'"\xed\xa0\x80"',
    b'"\\ud800"',
    b"true",
    b"null",
]


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(_FRAGMENTS),
    st.sampled_from([b"", b',"x":', b',"\xff":', b',"celsius":', b',"ts":']),
    st.sampled_from(["values", "reading", "envelope"]),
)
def test_bytes_json_cannot_hold_take_the_slow_pass(fragment: bytes, key: bytes, where: str) -> None:
    """What only bytes can say: not UTF-8, numbers beyond a double, duplicate keys,
    anywhere, also under a key the envelope does not know."""
    extra = key + fragment if key else b""
    values = b'{"celsius":' + (fragment if where == "values" else b"4.5") + b"}"
    reading = b'{"device":"fridge-1","kind":"temperature","ts":%d,"values":%s%s}' % (
        NOW - 60_000,
        values,
        extra if where == "reading" else b"",
    )
    payload = b'{"v":1,"gateway":"gw-a","seq":3,"readings":[%s]%s}' % (
        reading,
        extra if where == "envelope" else b"",
    )
    slow = _parse_each(payload, "gw-a", NOW, OLDEST)
    fast = _parse_valid(payload, "gw-a", NOW, OLDEST)
    if fast is not None:
        assert fast == slow
        assert not slow.rejected
    assert parse_envelope(payload, "gw-a", NOW, OLDEST) == slow
