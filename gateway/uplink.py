"""The only MQTT publisher of the gateway: envelopes from the buffer to the central broker.

One connection at a time, made afresh after every loss with capped exponential backoff
and jitter (a fresh client carries no half-sent state of the old one). On connect: the
retained ``online`` status (the last will is the retained ``offline``), the retained
meta, the alarms the gateway told on its own while cut off (SPEC §12: the server must know
of them before their readings arrive), then every unacknowledged envelope in ``seq``
order, then new envelopes while at most ``max_inflight`` wait for their PUBACK. Camera
snapshots waiting in the snapshot queue go out before the next envelope (they are few and
the reading naming one follows it). On stop: the retained ``stopped`` status.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from campuswatch.backoff import Backoff
from campuswatch.brokers import BrokerRotation
from campuswatch.clock import Clock, now_ms
from campuswatch.protocol import (
    DeviceInfo,
    Meta,
    edge_topic,
    meta_topic,
    readings_topic,
    snapshot_topic,
    status_topic,
)
from campuswatch.worker import Worker
from gateway.buffer import Buffer, Envelope
from gateway.config import IdentityConfig, UplinkConfig
from gateway.edge import EdgeAlarms, ToldRecord
from gateway.pubacks import AckSlots
from gateway.snapshot_queue import Snapshot, SnapshotQueue

log = logging.getLogger(__name__)

VERSION = "campuswatch-gateway/1"
_CONNECT_TIMEOUT_S = 10.0


class Uplink:
    """Publishes the buffer's envelopes; reconnects forever until stopped."""

    def __init__(
        self,
        settings: UplinkConfig,
        identity: IdentityConfig,
        buffer: Buffer,
        devices: Callable[[], list[DeviceInfo]],
        clock: Clock,
        snapshots: SnapshotQueue | None = None,
        told: EdgeAlarms | None = None,
    ) -> None:
        """``told``: the edge alarms, whose told records go out before any envelope."""
        self.settings = settings
        self.identity = identity
        self.buffer = buffer
        self.snapshots = snapshots
        self.told = told
        self.devices = devices
        self.clock = clock
        self.publish_errors = 0
        self._root = settings.topic_root
        self._wake = threading.Condition()
        self._connected = threading.Event()
        # Since when the central broker is out of reach (None while it acknowledges what
        # the gateway publishes): the edge alarms act once it has been long enough
        # (SPEC §12). Unreached since start too. A lost link counts from the broker's last
        # acknowledgement, as a pulled cable is noticed only a keepalive later; a link that
        # connects and drops again before acknowledging anything stays down.
        self.down_since: float | None = clock.time()
        self._last_ack = clock.time()
        self._acks: AckSlots[Envelope | Snapshot | ToldRecord] = AckSlots()
        self._snapshots_inflight: set[str] = set()
        self._told_inflight: set[int] = set()
        self._prefer_live = False
        self._client: mqtt.Client | None = None
        self._reconnect = Backoff(base=1.0, cap=15.0)
        self._brokers = BrokerRotation(settings.addresses())
        # Whatever ends a session, the next one reconnects: the buffer holds the data.
        self._worker = Worker("uplink", self._run_session, error_backoff=Backoff(1.0, 15.0))

    @property
    def connected(self) -> bool:
        """True while connected to the central broker."""
        return self._connected.is_set()

    def _topic(self, make: Callable[[str, str, str], str]) -> str:
        return make(self._root, self.identity.site, self.identity.id)

    def start(self) -> None:
        """Connect and publish in the background."""
        self._worker.start()

    def notify(self) -> None:
        """New readings are in the buffer."""
        with self._wake:
            self._wake.notify()

    def stop(self) -> None:
        """Publish the ``stopped`` status (when connected) and disconnect."""
        self._worker.request_stop()
        self.notify()  # the pump sees it at once
        self._worker.join(timeout=None)

    # ------------------------------------------------------------------ connection

    @property
    def _stopping(self) -> bool:
        return self._worker.stopping

    def _run_session(self) -> float:
        """One connection (the worker's step); how long to wait before the next."""
        if self._session():
            self._reconnect.reset()
            return 0.0
        delay = self._reconnect.next_delay()
        log.warning("uplink: reconnecting in %.1f s", delay)
        return delay

    def _make_client(self) -> mqtt.Client:
        s = self.settings
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"campus-gw-{self.identity.site}-{self.identity.id}"[:64],
            protocol=mqtt.MQTTv311,
            clean_session=True,  # unacknowledged envelopes are republished from the buffer
        )
        client.max_inflight_messages_set(s.max_inflight + 5)
        # Within one session's connect wait paho retries on its own: every second or two,
        # not after its default 1, 2, 4, 8 s, so a broker back from a restart is used at
        # once (the session's own capped, jittered backoff spaces longer outages).
        client.reconnect_delay_set(min_delay=1, max_delay=2)
        if s.username:
            client.username_pw_set(s.username, s.password)
        if s.tls:
            client.tls_set_context(s.tls.context())
        will = orjson.dumps({"state": "offline", "ts": now_ms(self.clock), "version": VERSION})
        client.will_set(self._topic(status_topic), will, qos=1, retain=True)
        client.on_connect = self._on_connect
        client.on_connect_fail = lambda *_args: self._next_broker(client)
        client.on_disconnect = lambda *_args: self._lost(client)
        client.on_publish = self._on_publish
        return client

    def _session(self) -> bool:
        """One connection's life; True if it was established."""
        client = self._client = self._make_client()
        self._acks.clear()
        self._snapshots_inflight.clear()
        self._told_inflight.clear()
        host, port = self._brokers.current
        client.connect_async(host, port, self.settings.keepalive_s)
        client.loop_start()
        try:
            if not self._connected.wait(_CONNECT_TIMEOUT_S):
                log.warning("uplink: no connection to %s", self._brokers.describe())
                return False
            self._announce(client)
            self._pump(client)
            if self._stopping and self._connected.is_set():
                self._publish_status(client, "stopped").wait_for_publish(5)
            return True
        finally:
            self._connected.clear()
            if self.down_since is None:
                self.down_since = self._last_ack
            client.disconnect()
            client.loop_stop()

    def _on_connect(
        self, _c: mqtt.Client, _u: object, _f: object, reason: object, _p: object
    ) -> None:
        if getattr(reason, "is_failure", False):
            log.error("central broker refused the connection: %s", reason)
            return
        log.info("uplink connected to %s", self._brokers.describe())
        self._connected.set()
        self.notify()

    def _next_broker(self, client: mqtt.Client) -> None:
        """A connection failed, was refused or was lost: the next broker (paho's retry in
        this session, or the next session)."""
        if not self._stopping:
            self._brokers.reconnect_next(client, self.settings.keepalive_s)

    def _lost(self, client: mqtt.Client) -> None:
        self._next_broker(client)
        if self._connected.is_set() and not self._stopping:
            log.warning("uplink: connection lost")
        if self.down_since is None:
            self.down_since = self._last_ack
        self._connected.clear()
        self.notify()

    def _publish_status(self, client: mqtt.Client, state: str) -> mqtt.MQTTMessageInfo:
        status = {"state": state, "ts": now_ms(self.clock), "version": VERSION}
        info = client.publish(self._topic(status_topic), orjson.dumps(status), 1, retain=True)
        self._took_slot(info)
        return info

    def _took_slot(self, info: mqtt.MQTTMessageInfo) -> None:
        """A status or meta message takes its id's slot too (nothing to acknowledge)."""
        if info.rc == mqtt.MQTT_ERR_SUCCESS:
            self._acks.published(info.mid, None)

    def _announce(self, client: mqtt.Client) -> None:
        self._publish_status(client, "online")
        self.publish_meta()

    def publish_meta(self) -> None:
        """(Re)publish the retained device list."""
        client = self._client
        if client is None or not self._connected.is_set():
            return  # published on the next connect
        meta = Meta(gateway=self.identity.id, devices=self.devices())
        self._took_slot(
            client.publish(self._topic(meta_topic), meta.model_dump_json(), 1, retain=True)
        )

    # ------------------------------------------------------------------ publishing

    def _pump(self, client: mqtt.Client) -> None:
        """Publish until the connection drops or the gateway stops."""
        self.buffer.mark_backlog()
        self._publish_told(client)
        for waiting in self.buffer.unacknowledged():
            self._publish(client, waiting)
        while self._connected.is_set() and not self._stopping:
            if not self._publish_next(client):
                with self._wake:
                    self._wake.wait(0.5)
        if self._connected.is_set():
            self._flush(client)

    def _flush(self, client: mqtt.Client, timeout_s: float = 10.0) -> None:
        """On stop, publish what the buffer still holds and wait for the PUBACKs."""
        deadline = time.monotonic() + timeout_s
        while self._connected.is_set() and time.monotonic() < deadline:
            if self._publish_next(client):
                continue
            with self._wake:
                if not self._acks.waiting:
                    return  # everything acknowledged; what remains waits for the next start
                self._wake.wait(0.1)

    def _publish_next(self, client: mqtt.Client) -> bool:
        """Publish the next snapshot or envelope if the window has room; False if none went out."""
        if self._acks.waiting >= self.settings.max_inflight:
            return False
        if self.told is not None and self.told.has_unsent and self._publish_told(client):
            return True
        if self.snapshots is not None:
            snapshot = self.snapshots.next(self._snapshots_inflight)
            if snapshot is not None:
                self._snapshots_inflight.add(snapshot.id)
                self._publish(client, snapshot)
                return True
        # Alternate live and backlog envelopes while a backlog drains.
        self._prefer_live = not self._prefer_live
        envelope = self.buffer.prepare(self.settings.envelope_readings, self._prefer_live)
        if envelope is None:
            return False
        self._publish(client, envelope)
        return True

    def _publish_told(self, client: mqtt.Client) -> bool:
        """Publish the told records not yet out; whether any went. They only spare the
        server a second message: trouble reading them never holds up the readings."""
        if self.told is None:
            return False
        try:
            unsent = self.told.unsent()
        except Exception:
            log.exception("uplink: the alarms told by the gateway cannot be read")
            return False
        records = [r for r in unsent if r.id not in self._told_inflight]
        for record in records:
            self._told_inflight.add(record.id)
            self._publish(client, record)
        return bool(records)

    def _publish(self, client: mqtt.Client, item: Envelope | Snapshot | ToldRecord) -> None:
        if isinstance(item, ToldRecord):
            info = client.publish(self._topic(edge_topic), item.body, qos=1)
            what = f"told alarm {item.id}"
        elif isinstance(item, Snapshot):
            site, gateway = self.identity.site, self.identity.id
            topic = snapshot_topic(self._root, site, gateway, item.device, item.id)
            info = client.publish(topic, item.body, qos=1)
            what = f"snapshot {item.id}"
        else:
            info = client.publish(self._topic(readings_topic), item.payload, qos=1)
            what = f"seq {item.seq}"
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            self.publish_errors += 1
            log.warning("uplink: publish of %s failed: %s", what, mqtt.error_string(info.rc))
            return  # it stays where it waits and goes out after the reconnect
        # The PUBACK may have come before publish() returned: then the slot holds it.
        if self._acks.published(info.mid, item):
            self._acknowledge(item)

    def _acknowledge(self, item: Envelope | Snapshot | ToldRecord) -> None:
        if isinstance(item, ToldRecord):
            assert self.told is not None
            try:
                self.told.sent(item)
            except Exception:  # stays in flight: sent again after the next connect
                log.exception("uplink: told alarm %d cannot be marked as sent", item.id)
            else:
                self._told_inflight.discard(item.id)
        elif isinstance(item, Snapshot):
            assert self.snapshots is not None
            self.snapshots.acknowledge(item.id)
            self._snapshots_inflight.discard(item.id)
        else:
            self.buffer.acknowledge(item)

    def _on_publish(self, _c: mqtt.Client, _u: object, mid: int, _r: object, _p: object) -> None:
        self._last_ack = self.clock.time()
        self.down_since = None  # the broker acknowledges: reached
        item = self._acks.acknowledged(mid)
        if item is not None:
            self._acknowledge(item)
        self.notify()
