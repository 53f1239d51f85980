"""MQTT notifications: the SPEC §5 body published to a topic (sirens, LED signs)."""

from __future__ import annotations

import logging
import threading
from typing import Any

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from ingest.config.schema import MqttChannelConfig, MqttConfig
from ingest.notify.channels import ChannelError

log = logging.getLogger(__name__)
_PUBLISH_TIMEOUT_S = 10.0


class MqttSender:
    """Publishes through its own connection to the central broker."""

    def __init__(self, name: str, channel: MqttChannelConfig, settings: MqttConfig) -> None:
        self.channel = channel
        self._connected = threading.Event()
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"{settings.client_id}-notify-{name}"[:64],
            protocol=mqtt.MQTTv311,
        )
        if settings.username:
            client.username_pw_set(settings.username, settings.password)
        client.on_connect = lambda *_args: self._connected.set()
        client.on_disconnect = lambda *_args: self._connected.clear()
        client.reconnect_delay_set(1, 30)
        client.connect_async(settings.host, settings.port, keepalive=30)
        client.loop_start()
        self._client = client

    def send(self, body: dict[str, Any], delivery_id: int) -> None:
        """Publish and wait for the broker's acknowledgement (QoS 1/2)."""
        if not self._connected.wait(_PUBLISH_TIMEOUT_S):
            raise ChannelError("not connected to the MQTT broker")
        c = self.channel
        info = self._client.publish(c.topic, orjson.dumps(body), qos=c.qos, retain=c.retain)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise ChannelError(f"publish to {c.topic} failed: {mqtt.error_string(info.rc)}")
        try:
            info.wait_for_publish(_PUBLISH_TIMEOUT_S)
        except (RuntimeError, ValueError) as exc:
            raise ChannelError(f"publish to {c.topic} failed: {exc}") from exc
        if not info.is_published():
            raise ChannelError(f"broker did not acknowledge the publish to {c.topic}")

    def close(self) -> None:
        """Disconnect."""
        self._client.disconnect()
        self._client.loop_stop()
