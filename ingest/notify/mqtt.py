"""MQTT notifications: the SPEC §5 body published to a topic (sirens, LED signs), on the
service's own broker connection (an account has one connection: the broker uses its name
as the client id)."""

from __future__ import annotations

import time
from typing import Any, Protocol

import orjson
import paho.mqtt.client as mqtt

from campuswatch.notify.attachments import without_attachments
from campuswatch.notify.sender import ChannelError
from ingest.config.channels import MqttChannelConfig

_PUBLISH_TIMEOUT_S = 10.0


class Broker(Protocol):
    """The service's broker connection (the MQTT consumer)."""

    @property
    def connected(self) -> bool:
        """True while connected."""
        ...

    def publish(self, topic: str, payload: bytes, qos: int, retain: bool) -> mqtt.MQTTMessageInfo:
        """Publish one message."""
        ...


class MqttSender:
    """Publishes notifications and waits for the broker's acknowledgement."""

    per_minute: int | None = None  # sirens and signs: every notification, at once
    digests = False

    def __init__(self, channel: MqttChannelConfig, broker: Broker) -> None:
        self.channel = channel
        self._broker = broker

    def send(self, body: dict[str, Any], delivery_id: str) -> None:
        """Publish and wait for the broker's acknowledgement (QoS 1/2)."""
        broker, c = self._broker, self.channel
        deadline = time.monotonic() + _PUBLISH_TIMEOUT_S
        while not broker.connected:
            if time.monotonic() > deadline:
                raise ChannelError("not connected to the MQTT broker")
            time.sleep(0.2)
        info = broker.publish(c.topic, orjson.dumps(without_attachments(body)), c.qos, c.retain)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise ChannelError(f"publish to {c.topic} failed: {mqtt.error_string(info.rc)}")
        try:
            info.wait_for_publish(_PUBLISH_TIMEOUT_S)
        except (RuntimeError, ValueError) as exc:
            raise ChannelError(f"publish to {c.topic} failed: {exc}") from exc
        if not info.is_published():
            raise ChannelError(f"broker did not acknowledge the publish to {c.topic}")

    def close(self) -> None:
        """The connection is the service's, closed with it."""
