"""The ingest's use of paho: the internals BufferedClient overrides or calls keep the
shape and the premise it relies on (a paho release that changes them fails here first,
not in a campus at night), and the consumer reads topics through paho's public API."""

from __future__ import annotations

import inspect
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

from ingest.app import IngestService
from ingest.config import IngestConfig
from ingest.pipeline.mqttclient import BufferedClient


def _parameters(function: object) -> list[str]:
    return list(inspect.signature(function).parameters)  # type: ignore[arg-type]


def test_the_overridden_and_called_paho_internals_keep_their_shape() -> None:
    assert _parameters(mqtt.Client._sock_recv) == ["self", "bufsize"]
    assert _parameters(mqtt.Client.loop_read)[:2] == ["self", "max_packets"]
    assert _parameters(mqtt.Client._packet_read) == ["self"]
    assert _parameters(mqtt.Client._loop_rc_handle) == ["self", "rc"]
    assert _parameters(mqtt.Client._packet_queue)[:5] == ["self", "command", "packet", "mid", "qos"]
    # The premise of the buffered read: paho reads every packet through _sock_recv.
    assert "self._sock_recv(" in inspect.getsource(mqtt.Client._packet_read)
    assert mqtt.PUBACK == 0x40
    assert MQTTErrorCode.MQTT_ERR_AGAIN < 0 < MQTTErrorCode.MQTT_ERR_NO_CONN  # rc > 0: an error


def test_a_buffered_client_starts_with_no_socket_and_an_empty_buffer() -> None:
    client = BufferedClient(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    assert client._sock is None  # the attribute _sock_recv reads
    assert client.loop_read() == MQTTErrorCode.MQTT_ERR_NO_CONN
    with pytest.raises(ConnectionError):
        client._sock_recv(1)


def test_a_topic_that_is_not_utf8_reaches_the_handler_as_text(config: dict[str, Any]) -> None:
    """paho's ``topic`` refuses bytes that are not UTF-8; the consumer takes them from the
    error and the handler dead-letters the message with its reason (no broker lets such a
    topic through, so the consumer is driven directly)."""
    service = IngestService(IngestConfig.model_validate(config))
    root = config["mqtt"]["topic_root"]
    message = mqtt.MQTTMessage(topic=f"{root}/sunshine-kg/gw-a".encode() + b"\xff/readings")
    message.payload = b"{}"
    with pytest.raises(UnicodeDecodeError):
        message.topic  # noqa: B018
    service.consumer._on_message(service.consumer._client, None, message)
    [letter] = service.consumer._queue[-1].outcome.dead_letters
    assert (letter.source, letter.reason) == (
        f"{root}/sunshine-kg/gw-a\ufffd/readings",
        "bad_topic",
    )
