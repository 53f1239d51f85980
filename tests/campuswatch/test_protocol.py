"""The wire protocol validator: every bad input gets a precise, counted reason."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from campuswatch.protocol import (
    MAX_ENVELOPE_BYTES,
    MIN_TS_MS,
    DeviceInfo,
    ReadingModel,
    ReadingsEnvelope,
    parse_meta,
    parse_status,
    parse_topic,
)
from campuswatch.protocol.readings import parse_envelope

NOW = 1_795_459_258_120


def env(readings: list[Any], **over: Any) -> bytes:
    doc = {"v": 1, "gateway": "gw-gate", "seq": 7, "readings": readings, **over}
    return orjson.dumps(doc)


def door(**over: Any) -> dict[str, Any]:
    return {
        "device": "door-main-gate",
        "kind": "door",
        "ts": NOW,
        "values": {"open": False, "locked": True},
    } | over


def test_valid_envelope_parses_with_types_kept() -> None:
    out = parse_envelope(env([door(), door(values={"open": True, "battery": 80})]), "gw-gate", NOW)
    assert out.seq == 7
    assert not out.rejected
    assert [r.values for r in out.readings] == [
        {"open": False, "locked": True},
        {"open": True, "battery": 80},
    ]


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (b"{not json", "not_json"),
        (
            b'{"v": 1, "gateway": "gw-gate", "seq": 1, "readings": [{"device": "d", "kind": '
            b'"temperature", "ts": 1795459258120, "values": {"celsius": NaN}}]}',
            "not_json",
        ),
        (b'{"v": 1, "gateway": "gw-gate", "seq": 1, "readings": [], "x": Infinity}', "not_json"),
        (b"[1, 2]", "bad_envelope"),
        (env([door()], v=2), "bad_version"),
        (env([door()], v="1"), "bad_version"),
        (env([door()], gateway="gw-other"), "gateway_mismatch"),
        (env([door()], seq=-1), "bad_seq"),
        (env([door()], seq=1.5), "bad_seq"),
        (env([]), "bad_count"),
        (env([door(ts=NOW + i) for i in range(1001)]), "bad_count"),
        (env("nope"), "bad_envelope"),
    ],
)
def test_whole_envelope_rejections(payload: bytes, code: str) -> None:
    out = parse_envelope(payload, "gw-gate", NOW)
    assert out.envelope_rejected
    assert [p.code for p in out.rejected] == [code]
    assert out.readings == []


def test_oversized_payload_is_rejected_before_parsing() -> None:
    payload = env([door(device="x" * 60)] * 10) + b" " * MAX_ENVELOPE_BYTES
    out = parse_envelope(payload, "gw-gate", NOW)
    assert [p.code for p in out.rejected] == ["too_large"]


@pytest.mark.parametrize(
    ("bad", "code", "field"),
    [
        ({"kind": "toaster"}, "unknown_kind", "kind"),
        ({"values": {"battery": 80.0}}, "missing_field", "open"),  # neither open nor locked
        ({"values": {}}, "missing_field", "open"),
        ({"kind": "panic", "values": {"pressed": "yes"}}, "wrong_type", "pressed"),
        ({"kind": "leak", "values": {"battery": 90.0}}, "missing_field", "leak"),
        ({"kind": "motion", "values": {"motion": 1}}, "wrong_type", "motion"),
        ({"values": {"open": "yes"}}, "wrong_type", "open"),
        ({"values": {"open": 1.0}}, "wrong_type", "open"),
        ({"values": {"open": 1}}, "wrong_type", "open"),
        ({"values": {"open": True, "battery": "80"}}, "wrong_type", "battery"),
        ({"values": {"open": True, "battery": True}}, "wrong_type", "battery"),
        ({"ts": "1795459258120"}, "bad_ts", "ts"),
        ({"ts": 1795459258120.5}, "bad_ts", "ts"),
        ({"ts": MIN_TS_MS - 1}, "bad_ts", "ts"),
        ({"ts": NOW + 86_400_001}, "bad_ts", "ts"),
        ({"device": "bad\\name"}, "bad_device", "device"),
        ({"device": "bad\nname"}, "bad_device", "device"),
        ({"device": "tab\there"}, "bad_device", "device"),
        ({"device": ""}, "bad_device", "device"),
        ({"device": "x" * 65}, "bad_device", "device"),
        ({"device": 42}, "bad_device", "device"),
        ({"values": [1, 2]}, "bad_values", "values"),
    ],
)
def test_bad_reading_is_rejected_alone(bad: dict[str, Any], code: str, field: str) -> None:
    out = parse_envelope(env([door(), door(**bad), door(ts=NOW - 5)]), "gw-gate", NOW)
    assert len(out.readings) == 2  # the valid neighbours are kept
    [problem] = out.rejected
    assert (problem.code, problem.index, problem.field) == (code, 1, field)
    assert str(problem).startswith(f"readings[1].{field}: ")


def test_a_lock_alone_a_contact_alone_and_the_new_kinds_are_valid() -> None:
    readings = [
        door(values={"locked": True, "battery": 71.0}),  # a smart lock without a contact
        door(values={"open": False}),  # a contact without a lock
        door(device="leak-kitchen", kind="leak", values={"leak": True}),
        door(device="sos-gate", kind="panic", values={"pressed": True, "battery": 100}),
        door(device="pir-hall", kind="motion", values={"motion": False, "illuminance_lx": 3}),
    ]
    out = parse_envelope(env(readings), "gw-gate", NOW)
    assert not out.rejected
    assert [r.kind for r in out.readings] == ["door", "door", "leak", "panic", "motion"]


def test_wrong_type_for_float_and_int_fields() -> None:
    cam = {"device": "cam-gate", "kind": "camera", "ts": NOW, "values": {"motion": True}}
    temp = {"device": "t1", "kind": "temperature", "ts": NOW, "values": {"celsius": True}}
    out = parse_envelope(
        env([cam | {"values": {"motion": True, "persons": 1.5}}, temp]), "gw-gate", NOW
    )
    assert [(p.code, p.field) for p in out.rejected] == [
        ("wrong_type", "persons"),
        ("wrong_type", "celsius"),
    ]


def test_backlog_days_old_is_valid_and_ints_count_as_floats() -> None:
    old = {
        "device": "t1",
        "kind": "temperature",
        "ts": NOW - 30 * 86_400_000,
        "values": {"celsius": 4},
    }
    out = parse_envelope(env([old]), "gw-gate", NOW)
    assert out.readings[0].values == {"celsius": 4}
    assert not out.rejected


def test_extra_fields_numeric_kept_as_float_others_dropped_and_counted() -> None:
    reading = door(
        values={
            "open": True,
            "rssi": -70,
            "note": "hi",
            "charging": True,
            "bad name": 1,
            "nested": {"a": 1},
        }
    )
    out = parse_envelope(env([reading]), "gw-gate", NOW)
    assert out.readings[0].values == {"open": True, "rssi": -70.0}
    assert sorted(p.code for p in out.dropped) == [
        "bad_field_name",
        "non_numeric_field",
        "non_numeric_field",
        "non_numeric_field",
    ]


def test_extra_fields_named_like_a_tag_the_time_or_the_empty_marker_are_dropped() -> None:
    """``_empty`` is the integer field of a reading without values: a float of that name
    would make InfluxDB refuse the point as a field type conflict."""
    health = {"device": "gw-gate", "kind": "gateway", "ts": NOW - 1000}
    values = {"uptime_s": 5, "_empty": 1.5, "time": 1, "site": 2, "_empty_": 3}
    out = parse_envelope(env([{**health, "values": values}]), "gw-gate", NOW)
    assert out.readings[0].values == {"uptime_s": 5.0, "_empty_": 3.0}
    assert sorted(p.field for p in out.dropped) == ["_empty", "site", "time"]
    assert {p.code for p in out.dropped} == {"bad_field_name"}


@pytest.mark.parametrize("name", ['门 1, "东"=侧', "a b", "x=y,z", "'quoted'", "大门摄像头"])
def test_names_with_spaces_commas_equals_quotes_and_chinese_are_valid(name: str) -> None:
    out = parse_envelope(env([door(device=name)]), "gw-gate", NOW)
    assert out.readings[0].device == name


def test_gateway_kind_takes_any_numeric_health_figure() -> None:
    health = {
        "device": "gw-gate",
        "kind": "gateway",
        "ts": NOW,
        "values": {"uptime_s": 12, "buffer_depth": 0, "cpu_temp_c": 48.5},
    }
    out = parse_envelope(env([health]), "gw-gate", NOW)
    assert out.readings[0].values == {"uptime_s": 12.0, "buffer_depth": 0.0, "cpu_temp_c": 48.5}


def test_model_built_envelope_round_trips_through_the_validator() -> None:
    model = ReadingsEnvelope(
        gateway="gw-gate",
        seq=3,
        readings=[ReadingModel(device="门", kind="door", ts=NOW, values={"open": True})],
    )
    out = parse_envelope(model.to_json(), "gw-gate", NOW)
    assert out.readings[0].device == "门"


def test_meta_keeps_valid_devices_and_rejects_bad_ones() -> None:
    payload = orjson.dumps(
        {
            "v": 1,
            "gateway": "gw-canteen",
            "devices": [
                {
                    "device": "fridge-cold-1",
                    "kind": "temperature",
                    "name": "冷藏柜 1",
                    "tags": {"class": "refrigerator", "building": "canteen"},
                },
                {"device": "x", "kind": "temperature", "tags": {"Bad-Key": "v"}},
                {"device": "y", "kind": "door", "tags": {"device": "clash"}},
                {"device": "z", "kind": "door", "interval_s": 0},
            ],
        }
    )
    meta = parse_meta(payload, "gw-canteen")
    assert [d.device for d in meta.devices] == ["fridge-cold-1"]
    assert meta.devices[0].interval_s == 60
    assert [p.index for p in meta.rejected] == [1, 2, 3]
    assert parse_meta(payload, "gw-other").rejected[0].code == "gateway_mismatch"
    assert parse_meta(b"nope", "gw-canteen").rejected[0].code == "not_json"


def test_status_validation() -> None:
    assert parse_status(b'{"state": "offline", "ts": 5, "version": "1.0"}').state == "offline"  # type: ignore[union-attr]
    assert parse_status(b'{"state": "asleep", "ts": 5}').code == "bad_status"  # type: ignore[union-attr]


def test_topic_parsing() -> None:
    topic = parse_topic("campus", "campus/sunshine-kg/gw-gate/readings")
    assert topic is not None
    assert (topic.site, topic.gateway, topic.channel) == ("sunshine-kg", "gw-gate", "readings")
    assert parse_topic("campus", "campus/Bad_Site/gw/readings") is None
    assert parse_topic("campus", "other/s/gw/readings") is None
    assert parse_topic("a/b", "a/b/s/gw/meta") is not None


@pytest.mark.parametrize("key", ["site", "time", "_empty"])
def test_device_info_rejects_reserved_tag_keys(key: str) -> None:
    with pytest.raises(ValueError, match="reserved"):
        DeviceInfo(device="d", kind="door", tags={key: "x"})
