"""Zigbee devices through Zigbee2MQTT: ``BASE/<friendly_name>`` and its ``/availability``.

Zigbee2MQTT publishes each device's whole state as a JSON object. The fields a campus
needs are mapped per kind (``contact`` true means closed, so ``open`` is its negation; a
lock reports ``state`` LOCK/UNLOCK and ``lock_state``; a water sensor ``water_leak``; a
PIR ``occupancy``); every other field (linkquality, voltage, ...) is ignored. An SOS
button only sends ``action: emergency`` when pressed: that is reported as ``pressed``
once, and the state it keeps (repeated every ``interval_s``) is not pressed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from campuswatch.clock import Clock
from campuswatch.protocol import FieldValue
from gateway.config import Zigbee2MqttSourceConfig
from gateway.sources.local_mqtt import LocalMqttSource, PayloadError


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError("expected true or false")
    return value


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError("expected a number")
    return float(value)


def _locked(value: Any) -> bool:
    if value not in ("locked", "unlocked", "not_fully_locked"):
        raise TypeError("expected locked, unlocked or not_fully_locked")
    return bool(value == "locked")


def _lock_state(value: Any) -> bool:
    if value not in ("LOCK", "UNLOCK"):
        raise TypeError("expected LOCK or UNLOCK")
    return bool(value == "LOCK")


# SOS buttons' actions that mean "help" (Heiman HS1EB: emergency; Tuya and others: sos).
_PANIC_ACTIONS = ("emergency", "sos", "panic")


def _panic(value: Any) -> bool:
    if not isinstance(value, str):
        raise TypeError("expected an action name")
    return value in _PANIC_ACTIONS


# Zigbee2MQTT key -> (reading field, conversion), per kind.
Mapping = dict[str, tuple[str, Callable[[Any], FieldValue]]]
_COMMON: Mapping = {"battery": ("battery", _number), "tamper": ("tamper", _bool)}
MAPPINGS: dict[str, Mapping] = {
    "door": {
        "contact": ("open", lambda v: not _bool(v)),
        "state": ("locked", _lock_state),
        "lock_state": ("locked", _locked),  # after state: the more precise of the two
        **_COMMON,
    },
    "smoke": {"smoke": ("smoke", _bool), "battery_low": ("battery_low", _bool), **_COMMON},
    "leak": {"water_leak": ("leak", _bool), "battery": ("battery", _number)},
    "panic": {"action": ("pressed", _panic), "battery": ("battery", _number)},
    "motion": {
        "occupancy": ("motion", _bool),
        "illuminance_lux": ("illuminance_lx", _number),
        "battery": ("battery", _number),
    },
    "temperature": {
        "temperature": ("celsius", _number),
        "humidity": ("humidity", _number),
        "battery": ("battery", _number),
    },
    "electricity": {
        "energy": ("energy_kwh", _number),
        "power": ("power_w", _number),
        "voltage": ("voltage_v", _number),
        "current": ("current_a", _number),
    },
}


def map_state(kind: str, state: dict[str, Any]) -> tuple[dict[str, FieldValue], list[str]]:
    """The reading values in a Zigbee2MQTT state object, and the fields of the wrong type."""
    values: dict[str, FieldValue] = {}
    problems = []
    for key, (name, convert) in MAPPINGS.get(kind, {}).items():
        if key not in state or state[key] is None:
            continue
        try:
            values[name] = convert(state[key])
        except TypeError as exc:
            problems.append(f"{key}: {exc}, got {state[key]!r}")
    return values, problems


def parse_availability(payload: bytes) -> bool:
    """``{"state": "online"}`` (Zigbee2MQTT 1.30+) or the legacy plain ``online``."""
    text = payload.strip()
    if text in (b"online", b"offline"):
        return text == b"online"
    try:
        state = orjson.loads(text).get("state")
    except (orjson.JSONDecodeError, AttributeError):
        state = None
    if state not in ("online", "offline"):
        raise PayloadError("availability is neither online nor offline")
    return bool(state == "online")


class Zigbee2MqttSource(LocalMqttSource):
    """The configured Zigbee devices of one Zigbee2MQTT bridge."""

    def __init__(
        self,
        config: Zigbee2MqttSourceConfig,
        client_id: str,
        clock: Clock,
        state_path: Path | None = None,
    ) -> None:
        super().__init__(
            "zigbee2mqtt",
            client_id,
            config.broker,
            list(config.devices),
            config.stale_after.total_seconds(),
            clock,
            state_path,
        )
        self.base = config.base_topic.rstrip("/")
        self.by_topic = {f"{self.base}/{d.friendly_name}": d for d in config.devices}

    def topics(self) -> list[str]:
        """Each device's state topic and availability topic."""
        return [t for topic in self.by_topic for t in (topic, f"{topic}/availability")]

    def handle(self, topic: str, payload: bytes) -> None:
        """A state object or an availability message."""
        if topic.endswith("/availability") and topic not in self.by_topic:
            device = self.by_topic[topic.removesuffix("/availability")]
            self.set_available(device.device, parse_availability(payload))
            return
        device = self.by_topic[topic]
        try:
            state = orjson.loads(payload)
        except orjson.JSONDecodeError as exc:
            raise PayloadError(f"not JSON: {exc}") from exc
        if not isinstance(state, dict):
            raise PayloadError("not a JSON object")
        values, problems = map_state(device.kind, state)
        if device.kind == "panic":  # any other message: the button is there, not pressed
            values["pressed"] = bool(values.get("pressed"))
        if values:
            self.update(device.device, values)
        if values.get("pressed"):
            self.release(device.device, "pressed")  # what it repeats: not pressed any more
        if problems:  # counted and logged by the caller; the valid fields were kept
            raise PayloadError("; ".join(problems))
