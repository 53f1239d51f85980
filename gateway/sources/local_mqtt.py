"""Sources fed by a local MQTT broker (Zigbee2MQTT, ESPHome, Tasmota) and what they share.

Such devices publish when something changes, and some only every hour or so. SPEC §2
wants every device reported at least once per ``interval_s`` so that silence means
trouble: the last known state is therefore repeated every ``interval_s``, while the
device is available: as its bridge says (Zigbee2MQTT's availability topic, which knows
when a sleepy battery device last checked in), or, for a device whose bridge says
nothing about it, while its last real message is younger than ``stale_after``. After
that the readings stop and the server's silence rule speaks up. A repeated reading
carries ``age_s``, the seconds since the device itself last spoke.

The states are kept in a file beside the gateway's buffer, so that after the gateway
restarts it repeats what it knew (a door that publishes only on change is not silent
until it next moves). A message that cannot be used is counted and logged with its
topic; it never stops the source.
"""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from campuswatch.atomicfile import write_atomic
from campuswatch.clock import Clock
from campuswatch.protocol import KINDS, FieldValue
from campuswatch.worker import Worker
from gateway.config import BrokerConfig, DeviceConfig
from gateway.errors import SourceError
from gateway.sources.base import Emit, make_reading

log = logging.getLogger(__name__)

HEARTBEAT_CHECK_S = 1.0  # at most this long between checks for due repeats


class PayloadError(SourceError):
    """A local message that cannot be turned into values."""


@dataclass
class LocalDevice:
    """What is known of one device: merged values and when they changed or went out."""

    values: dict[str, FieldValue] = field(default_factory=dict)
    available: bool = True
    availability_known: bool = False  # the bridge has said whether it is reachable
    last_message: float | None = None
    last_emit: float = 0.0


class LocalMqttSource(ABC):
    """Subscribes to a local broker, keeps each device's state, repeats it on schedule."""

    def __init__(
        self,
        name: str,
        client_id: str,
        broker: BrokerConfig,
        devices: list[DeviceConfig],
        stale_after_s: float,
        clock: Clock,
        state_path: Path | None = None,
    ) -> None:
        self.name = name
        self.state_path = state_path
        self._dirty = False
        self.broker = broker
        self.devices = {d.device: d for d in devices}
        self.stale_after_s = stale_after_s
        self.clock = clock
        self.states = {d.device: LocalDevice() for d in devices}
        self.readings = 0
        self.errors = 0
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self._emit: Emit | None = None
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id[:64])
        self._heartbeat = Worker(f"{name}-heartbeat", self._repeat_due)

    @abstractmethod
    def topics(self) -> list[str]:
        """The topics to subscribe to."""

    @abstractmethod
    def handle(self, topic: str, payload: bytes) -> None:
        """Turn one message into state updates (PayloadError when it is unusable)."""

    # ------------------------------------------------------------------ Source

    def start(self, emit: Emit) -> None:
        """Connect to the local broker (paho reconnects by itself) and start repeating."""
        self._emit = emit
        self._load_states()
        client = self._client
        if self.broker.username:
            client.username_pw_set(self.broker.username, self.broker.password)
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.on_connect = self._on_connect
        client.on_message = self._on_message
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = lambda *_args: self._subscribed.set()
        client.connect_async(self.broker.host, self.broker.port, keepalive=30)
        client.loop_start()
        self._heartbeat.start()

    def stop(self) -> None:
        """Disconnect and stop repeating."""
        self._heartbeat.stop()
        self._client.disconnect()
        self._client.loop_stop()
        self._save_states()

    def wait_subscribed(self, timeout: float) -> bool:
        """Block until the local broker confirmed the subscriptions."""
        return self._subscribed.wait(timeout)

    def stats(self) -> dict[str, int]:
        """Readings, unusable messages and devices without fresh data."""
        now = self.clock.time()
        with self._lock:
            stale = sum(not self._fresh(s, now) for s in self.states.values())
        return {"readings": self.readings, "errors": self.errors, "unavailable": stale}

    # ------------------------------------------------------------------ state

    def update(self, device_id: str, values: dict[str, FieldValue]) -> None:
        """Merge new values into a device's state and report it at once."""
        now = self.clock.time()
        with self._lock:
            state = self.states[device_id]
            state.values.update(values)
            state.last_message = now
            state.available = True
            self._dirty = True
            self._report(device_id, state, now)

    def release(self, device_id: str, name: str) -> None:
        """A momentary field (a pressed button): reported true once, then kept false."""
        with self._lock:
            self.states[device_id].values[name] = False

    def set_available(self, device_id: str, available: bool) -> None:
        """The bridge says whether the device is reachable."""
        with self._lock:
            state = self.states[device_id]
            if state.available != available:
                log.info("%s: %s is %s", self.name, device_id, "online" if available else "offline")
            state.available, state.availability_known = available, True

    def _fresh(self, state: LocalDevice, now: float) -> bool:
        if not state.available or state.last_message is None:
            return False
        # The bridge's availability knows when a sleepy device last checked in, even when
        # it sent no new value (a smoke detector reports its battery every ~18 h).
        return state.availability_known or now - state.last_message < self.stale_after_s

    def _complete(self, device_id: str, state: LocalDevice) -> bool:
        """False while a required field is unknown (only a battery report of a door so far)."""
        spec = KINDS[self.devices[device_id].kind]
        values = state.values
        return all(name in values for name in spec.required) and (
            not spec.one_of or any(name in values for name in spec.one_of)
        )

    def _report(
        self, device_id: str, state: LocalDevice, now: float, *, repeat: bool = False
    ) -> None:
        if not self._complete(device_id, state):
            return
        kind = self.devices[device_id].kind
        values = dict(state.values)
        if repeat and state.last_message is not None:
            values["age_s"] = round(now - state.last_message, 1)
        assert self._emit is not None
        self._emit(make_reading(device_id, kind, int(now * 1000), values))
        state.last_emit = now
        self.readings += 1

    def _repeat_due(self) -> float:
        """Repeat the states that are due; return the time until the next one is."""
        now = self.clock.time()
        wait = HEARTBEAT_CHECK_S
        with self._lock:
            for device_id, state in self.states.items():
                if not (self._fresh(state, now) and self._complete(device_id, state)):
                    continue
                interval = self.devices[device_id].interval_s
                if now - state.last_emit >= interval:
                    self._report(device_id, state, now, repeat=True)
                wait = min(wait, state.last_emit + interval - now)
        if self._dirty:
            self._save_states()
        return max(wait, 0.01)

    # ------------------------------------------------------------------ kept states

    def _save_states(self) -> None:
        """Write what is known of each device (not fsynced: losing it costs a repeat)."""
        if self.state_path is None:
            return
        with self._lock:
            doc = {
                d: {"values": s.values, "last_message": s.last_message}
                for d, s in self.states.items()
                if s.last_message is not None
            }
            self._dirty = False
        try:
            write_atomic(self.state_path, orjson.dumps(doc), durable=False)
        except OSError as exc:
            log.warning("%s: cannot keep device states in %s: %s", self.name, self.state_path, exc)

    def _load_states(self) -> None:
        """The states kept before a restart (an unreadable file is logged and ignored)."""
        if self.state_path is None or not self.state_path.exists():
            return
        try:
            doc: dict[str, Any] = orjson.loads(self.state_path.read_bytes())
            with self._lock:
                for device_id, kept in doc.items():
                    if device_id in self.states:
                        state = self.states[device_id]
                        state.values = dict(kept["values"])
                        state.last_message = float(kept["last_message"])
        except (OSError, orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            log.warning("%s: device states in %s unreadable: %s", self.name, self.state_path, exc)

    # ------------------------------------------------------------------ MQTT

    def _on_connect(
        self, client: mqtt.Client, _u: object, _f: object, reason: object, _p: object
    ) -> None:
        if getattr(reason, "is_failure", False):
            log.error("%s: the local broker refused the connection: %s", self.name, reason)
            return
        log.info("%s: connected to %s:%s", self.name, self.broker.host, self.broker.port)
        client.subscribe([(topic, 0) for topic in self.topics()])

    def _on_disconnect(self, *_args: object) -> None:
        self._subscribed.clear()
        log.warning("%s: lost the local broker; paho reconnects", self.name)

    def _on_message(self, _c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        try:
            topic = message.topic
        except UnicodeDecodeError:
            self.errors += 1
            log.warning("%s: a message with a topic that is not UTF-8", self.name)
            return
        try:
            self.handle(topic, bytes(message.payload))
        except PayloadError as exc:
            self.errors += 1
            log.warning("%s: %s: %s (payload %.80r)", self.name, topic, exc, message.payload)
        except Exception:  # the loop boundary: one bad message must not end the source
            self.errors += 1
            log.exception("%s: %s: cannot handle message", self.name, topic)
