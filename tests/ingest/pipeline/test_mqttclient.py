"""The paho internals BufferedClient overrides or calls are still there, as it uses them
(a paho release that changes them fails here first, not in a campus at night)."""

from __future__ import annotations

import inspect

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

from ingest.pipeline.mqttclient import BufferedClient


def _parameters(function: object) -> list[str]:
    return list(inspect.signature(function).parameters)  # type: ignore[arg-type]


def test_the_overridden_and_called_paho_internals_keep_their_shape() -> None:
    assert _parameters(mqtt.Client._sock_recv) == ["self", "bufsize"]
    assert _parameters(mqtt.Client.loop_read)[:2] == ["self", "max_packets"]
    assert _parameters(mqtt.Client._packet_read) == ["self"]
    assert _parameters(mqtt.Client._loop_rc_handle) == ["self", "rc"]
    assert _parameters(mqtt.Client._packet_queue)[:5] == ["self", "command", "packet", "mid", "qos"]
    assert mqtt.PUBACK == 0x40
    assert MQTTErrorCode.MQTT_ERR_AGAIN < 0 < MQTTErrorCode.MQTT_ERR_NO_CONN  # rc > 0: an error


def test_a_buffered_client_starts_with_no_socket_and_an_empty_buffer() -> None:
    client = BufferedClient(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    assert client._sock is None  # the attribute _sock_recv reads
    assert client.loop_read() == MQTTErrorCode.MQTT_ERR_NO_CONN
    with pytest.raises(ConnectionError):
        client._sock_recv(1)


def test_a_topic_that_is_not_utf8_still_reaches_the_handler_as_text() -> None:
    message = mqtt.MQTTMessage(topic=b"campus/s/gw/\xff/readings")
    with pytest.raises(UnicodeDecodeError) as refused:
        message.topic  # noqa: B018
    # What the consumer catches, with the raw bytes it decodes with replacement.
    assert refused.value.object.decode("utf-8", "replace") == "campus/s/gw/\ufffd/readings"
