"""ESPHome, Tasmota and other local publishers: one topic and path per device value.

ESPHome publishes plain values (``canteen-node/sensor/fridge1/state`` -> ``4.25``,
binary sensors ``ON``/``OFF``); Tasmota publishes JSON (``tele/<t>/SENSOR`` ->
``{"DS18B20": {"Temperature": 4.3}}``, read with ``path: DS18B20.Temperature``).
Several devices may share a topic (one Tasmota node with two probes).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from campuswatch.clock import Clock
from campuswatch.protocol import KINDS, FieldType, FieldValue
from gateway.config import MqttJsonDeviceConfig, MqttJsonSourceConfig
from gateway.sources.local_mqtt import LocalMqttSource, PayloadError

_TRUE = frozenset({"on", "true", "open", "1", "yes"})
_FALSE = frozenset({"off", "false", "closed", "0", "no"})


@dataclass(frozen=True, slots=True)
class Message:
    """A payload decoded once: its JSON value, or its text when it is not JSON."""

    value: Any
    is_json: bool

    @classmethod
    def decode(cls, payload: bytes) -> Message:
        """Decode a payload (never raises)."""
        try:
            return cls(orjson.loads(payload), True)
        except orjson.JSONDecodeError:
            return cls(payload.decode("utf-8", errors="replace").strip(), False)


def extract(message: Message, path: str | None) -> Any:
    """The value at ``path`` in a JSON payload, or the plain payload itself."""
    if path is None:
        return message.value
    if not message.is_json:
        raise PayloadError(f"not JSON, so no {path}")
    node = message.value
    for key in path.split("."):
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            raise PayloadError(f"no {key!r} at {path}")
    return node


def convert(value: Any, kind_type: FieldType | None, invert: bool) -> FieldValue:
    """Turn a published value into the field's type (``ON`` -> true, ``"4.5"`` -> 4.5)."""
    if kind_type is FieldType.BOOL:
        if isinstance(value, bool):
            flag = value
        elif isinstance(value, int | float | str) and str(value).strip().lower() in _TRUE:
            flag = True
        elif isinstance(value, int | float | str) and str(value).strip().lower() in _FALSE:
            flag = False
        else:
            raise PayloadError(f"{value!r} is not on/off or true/false")
        return flag != invert
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise PayloadError(f"{value!r} is not a number")
    try:
        number = float(value)
    except ValueError:
        raise PayloadError(f"{value!r} is not a number") from None
    if not math.isfinite(number):  # ESPHome publishes "nan" when a probe fails
        raise PayloadError(f"{value!r} is not a measurement (the sensor failed?)")
    if kind_type is FieldType.INT:
        if not number.is_integer():
            raise PayloadError(f"{value!r} is not a whole number")
        return int(number)
    return number


class MqttJsonSource(LocalMqttSource):
    """Devices whose values come from topics of a local broker."""

    def __init__(
        self,
        config: MqttJsonSourceConfig,
        client_id: str,
        clock: Clock,
        state_path: Path | None = None,
    ) -> None:
        super().__init__(
            "mqtt_json",
            client_id,
            config.broker,
            list(config.devices),
            config.stale_after.total_seconds(),
            clock,
            state_path,
        )
        self.by_topic: dict[str, list[MqttJsonDeviceConfig]] = defaultdict(list)
        for device in config.devices:
            self.by_topic[device.topic].append(device)

    def topics(self) -> list[str]:
        """Every configured topic once."""
        return list(self.by_topic)

    def handle(self, topic: str, payload: bytes) -> None:
        """Update every device reading this topic; a bad value spoils only its device."""
        problems = []
        message = Message.decode(payload)
        for device in self.by_topic.get(topic, []):
            try:
                raw = extract(message, device.path)
                kind_type = KINDS[device.kind].field_type(device.field)
                value = convert(raw, kind_type, device.invert)
            except PayloadError as exc:
                problems.append(f"{device.device}.{device.field}: {exc}")
                continue
            self.update(device.device, {device.field: value})
        if problems:
            raise PayloadError("; ".join(problems))
