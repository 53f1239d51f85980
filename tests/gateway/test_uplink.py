"""The uplink in this process against the real broker: PUBACKs that arrive before
``publish()`` returns are matched by message id, however long the publisher was held up."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from campuswatch.clock import SystemClock
from campuswatch.protocol import readings_topic
from demo.services import MosquittoServer
from gateway.buffer import Buffer
from gateway.config import IdentityConfig, UplinkConfig
from gateway.pubacks import AckSlots
from gateway.uplink import Uplink
from tests.harness import BASE_TS, unique, wait_for

# Longer than any "fresh enough" guess: the old matcher dropped acks older than 5 s.
HELD_UP_S = 6.0


class HeldUpUplink(Uplink):
    """Every publish returns only after its PUBACK was handled (the early-ack race, made
    certain); the first readings envelope's publisher is then held up for HELD_UP_S, as a
    thread descheduled on a busy Pi would be."""

    held_up = False

    def _make_client(self) -> mqtt.Client:
        client = super()._make_client()
        publish = client.publish

        def publish_after_its_ack(topic: str, *args: Any, **kwargs: Any) -> mqtt.MQTTMessageInfo:
            info = publish(topic, *args, **kwargs)
            info.wait_for_publish(5)  # on_publish has run on paho's network thread
            if topic.endswith("/readings") and not self.held_up:
                self.held_up = True
                time.sleep(HELD_UP_S)
            return info

        client.publish = publish_after_its_ack  # type: ignore[method-assign]
        return client


class Envelopes:
    """Subscribes to one gateway's readings and keeps the seq of each envelope."""

    def __init__(self, port: int, topic: str) -> None:
        self.seqs: list[int] = []
        self._lock = threading.Lock()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=unique("sub-"))
        self.client.on_message = self._message
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *_a: subscribed.set()
        self.client.connect("127.0.0.1", port)
        self.client.subscribe(topic, qos=1)
        self.client.loop_start()
        assert subscribed.wait(5)

    def _message(self, _c: object, _u: object, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.seqs.append(orjson.loads(msg.payload)["seq"])

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def buffer(tmp_path: Path) -> Iterator[Buffer]:
    buf = Buffer(tmp_path / "buffer.db", "gw-1", 64 << 20)
    buf.open()
    yield buf
    buf.close()


def test_acks_before_publish_returns_are_matched_even_after_a_long_hold_up(
    broker: MosquittoServer, buffer: Buffer
) -> None:
    root = unique("t")
    envelopes = Envelopes(broker.port, readings_topic(root, "s1", "gw-1"))
    settings = UplinkConfig(
        host="127.0.0.1", port=broker.port, topic_root=root, max_inflight=2, envelope_readings=1
    )
    uplink = HeldUpUplink(
        settings, IdentityConfig(id="gw-1", site="s1"), buffer, list, SystemClock()
    )
    buffer.add(
        [
            {
                "device": "fridge-1",
                "kind": "temperature",
                "ts": BASE_TS + i,
                "values": {"celsius": 4.0},
            }
            for i in range(6)
        ]
    )
    uplink.start()
    try:
        # Every envelope is acknowledged (its PUBACK came first each time): none is left
        # waiting in the window, none stays in the buffer to be republished.
        wait_for(lambda: buffer.depth == 0, HELD_UP_S + 10)
        assert uplink._acks.waiting == 0
        wait_for(lambda: len(envelopes.seqs) >= 6, 5)
        assert len(set(envelopes.seqs)) == len(envelopes.seqs) == 6
    finally:
        uplink.stop()
        envelopes.close()


def test_slots_match_whichever_side_comes_first() -> None:
    slots: AckSlots[str] = AckSlots()
    assert slots.acknowledged(7) is None  # the ack came first: it waits in slot 7
    assert slots.published(7, "envelope 7") is True  # ... and the publisher finds it
    assert slots.published(8, "envelope 8") is False  # the publisher came first
    assert slots.waiting == 1
    assert slots.acknowledged(8) == "envelope 8"
    # A status message takes its slot too, so its ack is not left for a later message
    # that reuses the id after the wrap at 65535.
    assert slots.published(9, None) is False
    assert slots.acknowledged(9) is None
    assert slots.published(9, "envelope 9 after the wrap") is False
    assert slots.waiting == 1
