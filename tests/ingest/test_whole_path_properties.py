"""Property-based tests over the whole path (issue 20, "find the rest of this class"): any
meta and readings envelope the validator accepts is encoded, written to a real influxd
and read back equal; anything else is refused with a reason. Names, tag values and field
names are drawn from every character there is: controls, bidi and invisible format
characters, line separators, non-BMP, the escapes of line protocol and InfluxQL.

The budget here is small (``make test``); ``CAMPUSWATCH_LONG_PROPERTIES=1`` runs 25 times
more (``make bench`` does).
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campuswatch.clock import SystemClock
from campuswatch.protocol.kinds import FIELD_NAME_RE, MAX_INT64, RESERVED_FIELD_NAMES
from demo.services import InfluxServer
from ingest.metrics import Metrics
from ingest.pipeline.handler import MessageHandler
from ingest.registry import Registry
from ingest.storage.influx import InfluxClient, quote_ident
from tests.harness import BASE_TS, unique

EXAMPLES = 2000 if os.environ.get("CAMPUSWATCH_LONG_PROPERTIES") else 80
# Every code point but lone surrogates (JSON cannot carry them as text), weighted towards
# the troublesome ones.
_NASTY = "\n\r\t\x00\x1b\x7f\x85\u061c\u200b\u200e\u2028\u2029\u202e\u2066\ufeff\\\"', =#$"
any_char = st.one_of(
    st.sampled_from(_NASTY),
    st.characters(exclude_categories=("Cs",)),
    st.characters(min_codepoint=0x10000, max_codepoint=0x10FFFF, exclude_categories=("Cs",)),
)
# And the words InfluxDB or the ingest give a meaning ("time" once lost whole readings).
texts = st.one_of(
    st.sampled_from(["time", "site", "gateway", "device", "celsius", "humidity", "_field"]),
    st.text(any_char, min_size=0, max_size=70),
)
numbers = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(-(2**63), 2**64 - 1),
    st.booleans(),
)
_times = itertools.count()


@pytest.fixture(scope="module")
def client(influxd: InfluxServer) -> Iterator[InfluxClient]:
    c = InfluxClient(influxd.url, unique("db"))
    c.create_database()
    yield c
    c.close()


def _handler(tmp_path: Path) -> MessageHandler:
    registry = Registry(tmp_path / f"registry-{next(_times)}.json", SystemClock())
    return MessageHandler("campus", lambda _site: True, registry, Metrics(), SystemClock())


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(device=texts, name=texts, tag_key=texts, tag_value=texts)
def test_any_accepted_meta_and_reading_is_stored_and_read_back_equal(
    client: InfluxClient, tmp_path: Path, device: str, name: str, tag_key: str, tag_value: str
) -> None:
    handler = _handler(tmp_path)
    meta = {
        "v": 1,
        "gateway": "gw-a",
        "devices": [
            {"device": device, "kind": "temperature", "name": name, "tags": {tag_key: tag_value}}
        ],
    }
    out = handler.handle("campus/site-a/gw-a/meta", orjson.dumps(meta))
    assert all(letter.reason and letter.detail for letter in out.dead_letters)
    known = handler.registry.device_info("site-a", "gw-a", device)
    assert (known is None) == bool(out.dead_letters)  # kept, or refused with a reason
    ts = BASE_TS + next(_times)
    envelope = {
        "v": 1,
        "gateway": "gw-a",
        "seq": 1,
        "readings": [
            {"device": device, "kind": "temperature", "ts": ts, "values": {"celsius": 4.25}}
        ],
    }
    out = handler.handle("campus/site-a/gw-a/readings", orjson.dumps(envelope))
    if out.record is None:
        [letter] = out.dead_letters
        assert letter.reason == "bad_device"
        return
    client.write(out.record)
    [row] = client.query(f"SELECT * FROM temperature WHERE time = {ts}ms")
    assert (row["device"], row["celsius"]) == (device, 4.25)
    if known is not None:
        assert row[tag_key] == tag_value


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(fields=st.dictionaries(texts, numbers, min_size=1, max_size=5))
def test_any_accepted_field_is_stored_and_read_back_equal(
    client: InfluxClient, tmp_path: Path, fields: dict[str, Any]
) -> None:
    handler = _handler(tmp_path)
    ts = BASE_TS + next(_times)
    values = {"celsius": 4.5, **{k: v for k, v in fields.items() if k != "celsius"}}
    envelope = {
        "v": 1,
        "gateway": "gw-a",
        "seq": 1,
        "readings": [{"device": "t-1", "kind": "temperature", "ts": ts, "values": values}],
    }
    out = handler.handle("campus/site-a/gw-a/readings", orjson.dumps(envelope))
    if out.record is None:  # a declared field of the wrong type refuses the reading
        assert out.dead_letters[0].reason == "wrong_type"
        return
    client.write(out.record)
    measurement = quote_ident("temperature")
    [row] = client.query(f"SELECT * FROM {measurement} WHERE time = {ts}ms")
    for key, value in values.items():
        declared = key in ("celsius", "humidity")
        if not declared and not _kept_extra(key, value):  # dropped, counted with its reason
            if key in RESERVED_FIELD_NAMES:  # its column is the time, or the ingest's tag
                assert handler.metrics.fields_dropped.labels("bad_field_name")._value.get()
            else:
                assert row.get(key) is None, key
            continue
        expected = int(value) if isinstance(value, bool) else float(value)
        assert math.isclose(row[key], expected, rel_tol=1e-15), key


def _kept_extra(name: str, value: object) -> bool:
    """What SPEC §2 keeps of an undeclared field: a numeric one with a plain name."""
    plain = FIELD_NAME_RE.fullmatch(name) is not None and name not in RESERVED_FIELD_NAMES
    return plain and type(value) in (int, float) and abs(value) <= MAX_INT64  # type: ignore[arg-type]


@settings(max_examples=EXAMPLES, deadline=None)
@given(payload=st.one_of(st.binary(max_size=300), texts.map(str.encode)))
def test_any_bytes_on_any_channel_are_handled_or_refused_with_a_reason(
    payload: bytes, tmp_path_factory: pytest.TempPathFactory
) -> None:
    handler = _handler(tmp_path_factory.mktemp("h"))
    for channel in ("readings", "meta", "status", "snapshots/cam-1/snap-1", "other"):
        out = handler.handle(f"campus/site-a/gw-a/{channel}", payload)
        assert all(letter.reason and letter.detail for letter in out.dead_letters)
