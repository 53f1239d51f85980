"""Property-based tests of everything that parses outside input on the gateway (issue 20):
the DL/T 645 and Modbus decoders and the Zigbee2MQTT, ESPHome and Tasmota payload parsers
raise nothing but their own error, with a reason, whatever they are given."""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from campuswatch.protocol import KINDS, FieldType
from gateway.config import ModbusProfile
from gateway.errors import SourceError
from gateway.sources import dlt645_codec as dlt
from gateway.sources.modbus import decode_block, plan_reads
from gateway.sources.mqtt_json import Message, convert, extract
from gateway.sources.zigbee2mqtt import MAPPINGS, map_state, parse_availability


def _outcome(call: Callable[[], Any]) -> tuple[Any, str]:
    """The call's result, or the reason its own error gave (any other exception fails)."""
    try:
        return call(), ""
    except SourceError as exc:
        assert str(exc)  # noqa: PT017 (the reason must not be empty)
        return None, str(exc)


EXAMPLES = 2000 if os.environ.get("CAMPUSWATCH_LONG_PROPERTIES") else 150
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.sampled_from(["nan", "inf", "-inf", "1e999", "ON", "off", "locked", "sos", " 4.5 "]),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=EXAMPLES, deadline=None)
@given(buffer=st.binary(max_size=300), junk=st.binary(max_size=40), data=st.binary(max_size=12))
def test_dlt645_frames_and_readings_never_raise_but_frame_errors(
    buffer: bytes, junk: bytes, data: bytes
) -> None:
    # Valid frames hidden among junk are found; the rest is skipped with reasons.
    frame_bytes = dlt.build_frame("000012345678", 0x91, data)
    for stream in (buffer, junk + frame_bytes + buffer, frame_bytes[:-1] + junk):
        frame, used, problems = dlt.find_frame(stream)
        assert 0 <= used <= len(stream)
        assert all(isinstance(p, str) and p for p in problems)
        if frame is None:
            continue
        for item in dlt.DATA_ITEMS.values():
            value, why = _outcome(partial(dlt.decode_reading, frame.data, item))
            assert isinstance(value, float) or why


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    words=st.lists(st.integers(0, 0xFFFF), min_size=64, max_size=64),
    datatype=st.sampled_from(["int16", "uint16", "int32", "uint32", "float32"]),
    word_order=st.sampled_from(["big", "little"]),
)
def test_modbus_blocks_decode_any_register_values(
    words: list[int], datatype: str, word_order: str
) -> None:
    profile = ModbusProfile.model_validate(
        {
            "model": "m",
            "source": "test",
            "word_order": word_order,
            "fields": [
                {"field": "energy_kwh", "register": 0, "datatype": datatype, "scale": 0.1},
                {"field": "power_w", "register": 10, "datatype": datatype},
            ],
        }
    )
    for block in plan_reads(profile):
        values = decode_block(block, words[: block.count])
        assert all(isinstance(v, float) for v in values.values())


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    kind=st.sampled_from(sorted(MAPPINGS)),
    state=st.dictionaries(
        st.sampled_from([k for m in MAPPINGS.values() for k in m]) | st.text(max_size=8),
        json_values,
        max_size=8,
    ),
)
def test_zigbee2mqtt_states_map_or_say_why(kind: str, state: dict[str, Any]) -> None:
    values, problems = map_state(kind, state)
    types = KINDS[kind].types
    for name, value in values.items():
        expected = types.get(name)  # None: an extra field, numeric (a smoke's battery)
        assert isinstance(value, bool) == (expected is FieldType.BOOL), (name, value)
    assert all(isinstance(p, str) and p for p in problems)


@settings(max_examples=EXAMPLES, deadline=None)
@given(payload=st.binary(max_size=100) | json_values.map(orjson.dumps))
def test_zigbee2mqtt_availability_is_known_or_refused(payload: bytes) -> None:
    value, why = _outcome(lambda: parse_availability(payload))
    assert isinstance(value, bool) or why


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    payload=st.binary(max_size=100) | json_values.map(orjson.dumps),
    path=st.none() | st.sampled_from(["value", "ENERGY.Total", "0", "a.b.c", "state"]),
    ftype=st.sampled_from([None, *FieldType]),
    invert=st.booleans(),
)
def test_esphome_and_tasmota_payloads_convert_or_say_why(
    payload: bytes, path: str | None, ftype: FieldType | None, invert: bool
) -> None:
    message = Message.decode(payload)
    value, why = _outcome(lambda: convert(extract(message, path), ftype, invert))
    if why:
        return
    if ftype is FieldType.BOOL:
        assert isinstance(value, bool)
    else:
        assert isinstance(value, int | float)
        assert not isinstance(value, bool)
