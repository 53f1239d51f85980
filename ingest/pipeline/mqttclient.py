"""A paho-mqtt client that reads the network in large chunks.

paho-mqtt 2.x reads every incoming packet with at least three ``recv()`` calls (type
byte, length bytes, body) and handles only one packet per wake-up of its network loop
when no outgoing messages are pending, so a subscriber spends most of its time in
``select()`` and tiny reads: measured here, about 11,000 QoS 1 messages/s. This subclass
changes exactly two things and keeps paho's packet handling, callbacks, keep-alive,
reconnects and acknowledgements as they are:

- ``_sock_recv`` serves reads from a 64 KiB buffer filled by one ``recv()``;
- ``loop_read`` handles every complete packet available, not just one. The broker's
  in-flight limit (``max_inflight_messages``) bounds how many that can be.

and adds :meth:`BufferedClient.ack_many`, which queues the PUBACKs of a committed batch
as one write instead of one write and one loop wake-up per message.

Both rely on paho internals of the 2.x series: ``pyproject.toml`` pins ``paho-mqtt<3``,
tests/ingest/pipeline/test_mqttclient.py checks their signatures and that paho still
reads every packet through ``_sock_recv``, the ingest tests exercise this class end to
end, and ``bench_ingest`` measures what it buys (a plain paho subscriber beside it).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode

_CHUNK = 65536
_PUBACK = struct.Struct("!BBH")  # MQTT 3.1.1 §3.4: type 0x40, remaining length 2, packet id


class BufferedClient(mqtt.Client):
    """paho ``Client`` with buffered socket reads (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_buffer = bytearray()
        self._buffered_sock: object | None = None

    def _sock_recv(self, bufsize: int) -> bytes:
        sock = self._sock
        if sock is None:
            raise ConnectionError("self._sock is None")
        if sock is not self._buffered_sock:  # a new connection: nothing stale may leak in
            self._buffered_sock = sock
            self._read_buffer.clear()
        if not self._read_buffer:
            chunk = super()._sock_recv(_CHUNK)  # raises BlockingIOError when nothing is there
            if not chunk:
                return chunk  # the broker closed the connection
            self._read_buffer += chunk
        data = bytes(self._read_buffer[:bufsize])
        del self._read_buffer[:bufsize]
        return data

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        """Handle every complete packet that has arrived (``max_packets`` is ignored)."""
        while True:
            if self._sock is None:
                return MQTTErrorCode.MQTT_ERR_NO_CONN
            rc = self._packet_read()
            if rc > 0:
                return self._loop_rc_handle(rc)
            if rc == MQTTErrorCode.MQTT_ERR_AGAIN:
                return MQTTErrorCode.MQTT_ERR_SUCCESS

    def ack_many(self, mids: Iterable[int]) -> None:
        """Acknowledge QoS 1 messages (MQTT 3.1.1) in order, with a single socket write."""
        if self.protocol != mqtt.MQTTv311:
            raise ValueError("ack_many builds MQTT 3.1.1 PUBACK packets")
        packet = b"".join(_PUBACK.pack(mqtt.PUBACK, 2, mid) for mid in mids)
        if packet:
            self._packet_queue(mqtt.PUBACK, packet, 0, 0)
