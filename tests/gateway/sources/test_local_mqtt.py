"""Zigbee2MQTT, Tasmota and ESPHome payloads through a real broker into the sources."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from demo.services import MosquittoServer
from gateway.config import MqttJsonSourceConfig, Zigbee2MqttSourceConfig
from gateway.sources.local_mqtt import LocalMqttSource
from gateway.sources.mqtt_json import MqttJsonSource
from gateway.sources.zigbee2mqtt import Zigbee2MqttSource
from tests.clock import ManualClock
from tests.gateway.harness import Collector
from tests.harness import Publisher, unique, wait_for

# Payloads as Zigbee2MQTT 1.x/2.x publishes them for common campus devices.
AQARA_CONTACT = {
    "battery": 100,
    "contact": True,
    "device_temperature": 25,
    "linkquality": 87,
    "power_outage_count": 3,
    "voltage": 3025,
}
HEIMAN_SMOKE = {
    "battery": 95,
    "battery_low": False,
    "linkquality": 120,
    "smoke": False,
    "tamper": False,
}
AQARA_CLIMATE = {
    "battery": 91,
    "humidity": 55.2,
    "linkquality": 110,
    "pressure": 1011,
    "temperature": 4.3,
    "voltage": 2985,
}
TASMOTA_SENSOR = {
    "Time": "2026-11-23T10:00:00",
    "TempUnit": "C",
    "DS18B20-1": {"Id": "01144A0CCAAA", "Temperature": 4.6},
    "DS18B20-2": {"Id": "01144A0CCBBB", "Temperature": -19.5},
}


@pytest.fixture
def clock() -> ManualClock:
    """The sources' clock: repeats and staleness move only when a test moves it."""
    return ManualClock(float(int(time.time())))  # whole seconds: sums stay exact


def _running(source: LocalMqttSource) -> Collector:
    got = Collector()
    source.start(got)
    assert source.wait_subscribed(10)
    return got


@pytest.fixture
def zigbee(broker: MosquittoServer, clock: ManualClock) -> Iterator[tuple[Zigbee2MqttSource, str]]:
    """A Zigbee2MQTT source with a door, a smoke detector and a fridge sensor."""
    base = unique("z2m-")
    config = Zigbee2MqttSourceConfig.model_validate(
        {
            "type": "zigbee2mqtt",
            "broker": {"host": "127.0.0.1", "port": broker.port},
            "base_topic": base,
            "stale_after": "1h",
            "devices": [
                {
                    "device": "door-kitchen-back",
                    "kind": "door",
                    "friendly_name": "kitchen/back door",
                    "interval_s": 1,
                },
                {"device": "smoke-kitchen", "kind": "smoke", "friendly_name": "kitchen_smoke"},
                {"device": "fridge-1", "kind": "temperature", "friendly_name": "fridge_1"},
            ],
        }
    )
    source = Zigbee2MqttSource(config, unique("z2m-test-"), clock)
    yield source, base
    source.stop()


def test_zigbee2mqtt_states_are_mapped(
    zigbee: tuple[Zigbee2MqttSource, str], publisher: Publisher
) -> None:
    source, base = zigbee
    got = _running(source)
    publisher.publish(f"{base}/kitchen/back door", orjson.dumps(AQARA_CONTACT))
    publisher.publish(f"{base}/kitchen_smoke", orjson.dumps(HEIMAN_SMOKE))
    publisher.publish(f"{base}/fridge_1", orjson.dumps(AQARA_CLIMATE))
    publisher.publish(
        f"{base}/kitchen/back door", orjson.dumps({**AQARA_CONTACT, "contact": False})
    )
    wait_for(lambda: len(got.of("door-kitchen-back")) >= 2 and got.of("fridge-1"), 10)
    door = got.of("door-kitchen-back")
    assert door[0]["values"] == {"open": False, "battery": 100.0}  # contact = closed
    assert door[1]["values"]["open"] is True
    assert got.of("smoke-kitchen")[0]["values"] == {
        "smoke": False,
        "battery_low": False,
        "tamper": False,
        "battery": 95.0,
    }
    assert got.of("fridge-1")[0]["values"] == {"celsius": 4.3, "humidity": 55.2, "battery": 91.0}
    assert got.of("fridge-1")[0]["kind"] == "temperature"


# A lock without a contact, a water sensor, an SOS button and a PIR, as Zigbee2MQTT
# publishes them (lock: state + lock_state; SOS: one message with the action).
YALE_LOCK = {"battery": 80, "linkquality": 90, "lock_state": "locked", "state": "LOCK"}
AQARA_LEAK = {"battery": 100, "linkquality": 102, "water_leak": False, "voltage": 3015}
HEIMAN_SOS = {"action": "emergency", "battery": 100, "linkquality": 66}
AQARA_MOTION = {"battery": 97, "illuminance_lux": 12, "occupancy": True, "linkquality": 80}


def test_zigbee2mqtt_locks_leaks_sos_buttons_and_motion(
    broker: MosquittoServer, clock: ManualClock, publisher: Publisher
) -> None:
    base = unique("z2m-")
    config = Zigbee2MqttSourceConfig.model_validate(
        {
            "type": "zigbee2mqtt",
            "broker": {"host": "127.0.0.1", "port": broker.port},
            "base_topic": base,
            "stale_after": "1h",
            "devices": [
                {"device": "lock-101", "kind": "door", "friendly_name": "lock_101"},
                {"device": "leak-kitchen", "kind": "leak", "friendly_name": "leak_kitchen"},
                {
                    "device": "sos-gate",
                    "kind": "panic",
                    "friendly_name": "sos_gate",
                    "interval_s": 1,
                },
                {"device": "pir-hall", "kind": "motion", "friendly_name": "pir_hall"},
            ],
        }
    )
    source = Zigbee2MqttSource(config, unique("z2m-test-"), clock)
    got = _running(source)
    try:
        publisher.publish(f"{base}/lock_101", orjson.dumps(YALE_LOCK))
        publisher.publish(
            f"{base}/lock_101",
            orjson.dumps({**YALE_LOCK, "state": "UNLOCK", "lock_state": "unlocked"}),
        )
        publisher.publish(f"{base}/lock_101", orjson.dumps({"state": "UNLOCK"}))  # no lock_state
        publisher.publish(f"{base}/lock_101", orjson.dumps({"lock_state": "jammed"}))
        publisher.publish(f"{base}/leak_kitchen", orjson.dumps({**AQARA_LEAK, "water_leak": True}))
        publisher.publish(f"{base}/sos_gate", orjson.dumps({"battery": 100}))
        publisher.publish(f"{base}/sos_gate", orjson.dumps(HEIMAN_SOS))
        publisher.publish(f"{base}/pir_hall", orjson.dumps(AQARA_MOTION))
        wait_for(lambda: len(got.of("lock-101")) >= 3 and got.of("pir-hall"), 10)
        wait_for(lambda: source.stats()["errors"] == 1, 5)  # the jammed lock, counted
        locks = [r["values"] for r in got.of("lock-101")]
        assert locks[0] == {"locked": True, "battery": 80.0}  # a lock alone is a door
        assert [v["locked"] for v in locks] == [True, False, False]
        assert got.of("leak-kitchen")[0]["values"] == {"leak": True, "battery": 100.0}
        assert got.of("pir-hall")[0]["values"] == {
            "motion": True,
            "illuminance_lx": 12.0,
            "battery": 97.0,
        }
        # The SOS button: its battery report says it is there and not pressed; the press
        # is reported once; what is repeated afterwards is released.
        wait_for(lambda: len(got.of("sos-gate")) >= 2, 5)
        assert [r["values"]["pressed"] for r in got.of("sos-gate")] == [False, True]
        clock.advance(1)
        wait_for(lambda: len(got.of("sos-gate")) >= 3, 5)
        assert got.of("sos-gate")[2]["values"]["pressed"] is False
    finally:
        source.stop()


def test_zigbee2mqtt_bad_payloads_are_counted_and_valid_fields_kept(
    zigbee: tuple[Zigbee2MqttSource, str], publisher: Publisher
) -> None:
    source, base = zigbee
    got = _running(source)
    publisher.publish(f"{base}/fridge_1", b"{not json")
    publisher.publish(f"{base}/fridge_1", b"[1, 2]")
    publisher.publish(f"{base}/fridge_1", orjson.dumps({"temperature": "warm", "humidity": 50}))
    publisher.publish(f"{base}/fridge_1/availability", b"sleepy")
    publisher.publish(f"{base}/fridge_1", orjson.dumps({"temperature": 3.9}))
    wait_for(lambda: len(got.of("fridge-1")) >= 1, 10)
    wait_for(lambda: source.stats()["errors"] == 4, 5)
    # The first reading needs celsius: humidity alone (beside a bad temperature) waits.
    assert got.of("fridge-1")[0]["values"] == {"celsius": 3.9, "humidity": 50.0}


def test_state_is_repeated_every_interval_until_the_device_is_offline(
    zigbee: tuple[Zigbee2MqttSource, str], publisher: Publisher, clock: ManualClock
) -> None:
    source, base = zigbee
    got = _running(source)
    publisher.publish(f"{base}/kitchen/back door/availability", b'{"state": "online"}')
    publisher.publish(f"{base}/kitchen/back door", orjson.dumps(AQARA_CONTACT))
    wait_for(lambda: got.of("door-kitchen-back"), 10)  # the message itself
    for _ in range(3):
        clock.advance(1.0)  # the door's interval_s: its state is due again
        source._repeat_due()  # what the heartbeat thread runs
    readings = got.of("door-kitchen-back")
    assert [r["ts"] - readings[0]["ts"] for r in readings] == [0, 1000, 2000, 3000]
    assert {r["values"]["open"] for r in readings} == {False}
    publisher.publish(f"{base}/kitchen/back door/availability", b'{"state": "offline"}')
    wait_for(lambda: not source.states["door-kitchen-back"].available, 5)
    clock.advance(10.0)
    source._repeat_due()
    assert len(got.of("door-kitchen-back")) == 4  # silence now means trouble


def test_availability_keeps_a_sleepy_device_alive_and_repeats_say_their_age(
    zigbee: tuple[Zigbee2MqttSource, str], publisher: Publisher, clock: ManualClock
) -> None:
    source, base = zigbee  # stale_after 1 h
    got = _running(source)
    # The smoke detector reports its battery every ~18 h; Zigbee2MQTT's availability
    # says it checks in. The fridge sensor's bridge says nothing about it.
    publisher.publish(f"{base}/kitchen_smoke/availability", b'{"state": "online"}')
    publisher.publish(f"{base}/kitchen_smoke", orjson.dumps(HEIMAN_SMOKE))
    publisher.publish(f"{base}/fridge_1", orjson.dumps(AQARA_CLIMATE))
    wait_for(lambda: got.of("smoke-kitchen") and got.of("fridge-1"), 10)
    wait_for(lambda: source.states["smoke-kitchen"].availability_known, 5)
    clock.advance(3 * 3600)
    source._repeat_due()
    [_, repeat] = got.of("smoke-kitchen")
    assert repeat["values"]["smoke"] is False
    assert repeat["values"]["age_s"] == 3 * 3600.0  # a repeat, and how old its news is
    assert len(got.of("fridge-1")) == 1  # no word for an hour: silence, as it should be


def test_states_are_kept_across_a_gateway_restart(
    broker: MosquittoServer, clock: ManualClock, publisher: Publisher, tmp_path: Path
) -> None:
    base = unique("z2m-")
    config = Zigbee2MqttSourceConfig.model_validate(
        {
            "type": "zigbee2mqtt",
            "broker": {"host": "127.0.0.1", "port": broker.port},
            "base_topic": base,
            "stale_after": "1h",
            "devices": [
                {
                    "device": "door-store",
                    "kind": "door",
                    "friendly_name": "store_door",
                    "interval_s": 60,
                }
            ],
        }
    )
    kept = tmp_path / "gw.db.src0.json"
    first = Zigbee2MqttSource(config, unique("z2m-a-"), clock, kept)
    got = _running(first)
    publisher.publish(f"{base}/store_door", orjson.dumps(AQARA_CONTACT))
    wait_for(lambda: got.of("door-store"), 10)
    first.stop()
    # The door publishes only when it moves; after the restart its state is repeated.
    clock.advance(60)
    second = Zigbee2MqttSource(config, unique("z2m-b-"), clock, kept)
    again = _running(second)
    try:
        second._repeat_due()
        [repeat] = again.of("door-store")
        assert repeat["values"]["open"] is False
        assert repeat["values"]["age_s"] == 60.0
    finally:
        second.stop()


@pytest.fixture
def nodes(broker: MosquittoServer, clock: ManualClock) -> Iterator[tuple[MqttJsonSource, str]]:
    """ESPHome and Tasmota nodes as an mqtt_json source."""
    prefix = unique("node-")
    config = MqttJsonSourceConfig.model_validate(
        {
            "type": "mqtt_json",
            "broker": {"host": "127.0.0.1", "port": broker.port},
            "stale_after": "3s",
            "devices": [
                {
                    "device": "fridge-cold-1",
                    "kind": "temperature",
                    "field": "celsius",
                    "topic": f"{prefix}canteen-node/sensor/fridge1/state",
                    "interval_s": 1,
                },
                {
                    "device": "door-store",
                    "kind": "door",
                    "field": "open",
                    "topic": f"{prefix}canteen-node/binary_sensor/store_door/state",
                },
                {
                    "device": "fridge-t1",
                    "kind": "temperature",
                    "field": "celsius",
                    "topic": f"{prefix}tele/fridges/SENSOR",
                    "path": "DS18B20-1.Temperature",
                },
                {
                    "device": "freezer-t2",
                    "kind": "temperature",
                    "field": "celsius",
                    "topic": f"{prefix}tele/fridges/SENSOR",
                    "path": "DS18B20-2.Temperature",
                },
                {
                    "device": "leak-kitchen",
                    "kind": "leak",
                    "field": "leak",
                    "topic": f"{prefix}tele/kitchen/SENSOR",
                    "path": "Switch1",
                },
            ],
        }
    )
    source = MqttJsonSource(config, unique("json-test-"), clock)
    yield source, prefix
    source.stop()


def test_esphome_and_tasmota_payloads(
    nodes: tuple[MqttJsonSource, str], publisher: Publisher
) -> None:
    source, prefix = nodes
    got = _running(source)
    publisher.publish(f"{prefix}canteen-node/sensor/fridge1/state", b"4.25")
    publisher.publish(f"{prefix}canteen-node/binary_sensor/store_door/state", b"ON")
    publisher.publish(f"{prefix}canteen-node/binary_sensor/store_door/state", b"OFF")
    publisher.publish(f"{prefix}tele/fridges/SENSOR", orjson.dumps(TASMOTA_SENSOR))
    # A leak probe on a Tasmota node's Switch1 (SetOption114 1), as in its SENSOR message
    wet = {"Time": "2026-11-23T10:00:00", "Switch1": "ON"}
    publisher.publish(f"{prefix}tele/kitchen/SENSOR", orjson.dumps(wet))
    wait_for(lambda: got.of("leak-kitchen") and len(got.of("door-store")) >= 2, 10)
    values: dict[str, Any] = {r["device"]: r["values"] for r in got.readings}
    assert got.of("fridge-cold-1")[0]["values"] == {"celsius": 4.25}
    assert [r["values"]["open"] for r in got.of("door-store")][:2] == [True, False]
    assert values["fridge-t1"] == {"celsius": 4.6}
    assert values["freezer-t2"] == {"celsius": -19.5}
    assert values["leak-kitchen"] == {"leak": True}


def test_bad_node_payloads_are_counted(
    nodes: tuple[MqttJsonSource, str], publisher: Publisher
) -> None:
    source, prefix = nodes
    got = _running(source)
    publisher.publish(f"{prefix}canteen-node/sensor/fridge1/state", b"nan")  # probe unplugged
    publisher.publish(f"{prefix}canteen-node/binary_sensor/store_door/state", b"MAYBE")
    bad = {**TASMOTA_SENSOR, "DS18B20-1": {"Id": "x"}}  # one probe lost, the other fine
    publisher.publish(f"{prefix}tele/fridges/SENSOR", orjson.dumps(bad))
    publisher.publish(f"{prefix}tele/fridges/SENSOR", b"\xff\xfe not json")
    wait_for(lambda: source.stats()["errors"] == 4, 10)
    assert [r["device"] for r in got.readings] == ["freezer-t2"]


def test_repeats_stop_when_a_node_falls_silent(
    nodes: tuple[MqttJsonSource, str], publisher: Publisher, clock: ManualClock
) -> None:
    source, prefix = nodes
    got = _running(source)
    publisher.publish(f"{prefix}canteen-node/sensor/fridge1/state", b"4.0")
    wait_for(lambda: got.of("fridge-cold-1"), 10)
    for _ in range(2):
        clock.advance(1.0)  # interval_s 1: repeated every second ...
        source._repeat_due()
    assert len(got.of("fridge-cold-1")) == 3
    clock.advance(1.0)  # ... until the last message is stale_after (3 s) old
    source._repeat_due()
    assert len(got.of("fridge-cold-1")) == 3
    assert source.stats()["unavailable"] == 5  # four never heard from, one silent
