"""The MQTT side of the ingest: one persistent QoS 1 subscription with manual acks.

Flow of one message: paho's network thread calls :meth:`MqttConsumer._on_message`, which
validates and encodes it (:class:`MessageHandler`, also feeding the live listeners) and
queues the outcome. The commit thread takes everything queued, fsyncs dead letters and
spool records, saves changed meta, and only then acknowledges the messages, in the order
they arrived (MQTT 3.1.1 §4.6). A crash before the ack means the broker redelivers; a
crash after it loses nothing because the data is on disk.

A reconnect starts a new *generation*: packet ids of an older connection are never
acknowledged on a newer one (they could name other messages); the broker redelivers
those messages instead and the idempotent storage absorbs the repeat.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from campuswatch.backoff import Backoff
from campuswatch.brokers import BrokerRotation
from campuswatch.worker import Worker
from ingest.config import MqttConfig
from ingest.errors import IngestError
from ingest.health import Problems
from ingest.metrics import Metrics
from ingest.pipeline.deadletters import DeadLetter, DeadLetterStore
from ingest.pipeline.handler import MessageHandler, Outcome
from ingest.pipeline.mqttclient import BufferedClient
from ingest.pipeline.overflow import SpoolIntake
from ingest.pipeline.subscriptions import Subscriptions
from ingest.registry import Registry

log = logging.getLogger(__name__)

KEEPALIVE_S = 30
RECONNECT_FLOOR_S = (0.1, 0.5)
RECONNECT_CAP_S = 10


@dataclass(slots=True)
class _Received:
    mid: int
    qos: int
    generation: int
    outcome: Outcome
    received_s: float  # monotonic: the watchdog's age of the consumer


class MqttConsumer:
    """Subscribe, validate, spool, then acknowledge."""

    def __init__(
        self,
        settings: MqttConfig,
        handler: MessageHandler,
        intake: SpoolIntake,
        dead_letters: DeadLetterStore,
        registry: Registry,
        metrics: Metrics,
        problems: Problems,
        subscriptions: Subscriptions,
        *,
        max_queued: int = 5000,
        max_queued_bytes: int = 8 << 20,
    ) -> None:
        self.settings = settings
        self.subscriptions = subscriptions
        self._brokers = BrokerRotation(settings.addresses())
        self.problems = problems
        self.handler = handler
        self.intake = intake
        self.dead_letters = dead_letters
        self.registry = registry
        self.metrics = metrics
        self.max_queued = max_queued
        self.max_queued_bytes = max_queued_bytes
        self._queue: list[_Received] = []
        self._queued_bytes = 0  # of the records and dead letters in _queue
        self._cond = threading.Condition()
        self._generation = 0
        self._connected = False
        self._subscribed = threading.Event()
        self._stopping = False
        self._in_hand: list[_Received] = []  # taken from the queue, not yet committed
        self._retry = Backoff(base=0.1, cap=10.0)
        self._committer = Worker("spool-commit", self._commit_round)
        self._client = self._make_client()

    def _make_client(self) -> BufferedClient:
        s = self.settings
        client = BufferedClient(
            CallbackAPIVersion.VERSION2,
            client_id=s.client_id,
            protocol=mqtt.MQTTv311,
            clean_session=False,  # the broker keeps our subscription and queue across restarts
            manual_ack=True,
        )
        if s.username:
            client.username_pw_set(s.username, s.password)
        if s.tls:
            client.tls_set_context(s.tls.context())
        # paho doubles the wait from this floor after each failed attempt. The floor is
        # short: a district has a few ingest processes (no crowd to spread), and every
        # second here delays the alarms behind a node that died (bench_district).
        floor = random.uniform(*RECONNECT_FLOOR_S)  # noqa: S311 (spreading, not secrecy)
        client.reconnect_delay_set(min_delay=floor, max_delay=RECONNECT_CAP_S)  # type: ignore[arg-type]
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        client.on_unsubscribe = self._on_unsubscribe
        return client

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Connect in the background (retrying until the broker answers) and start committing."""
        self._committer.start()
        host, port = self._brokers.current
        self._client.connect_async(host, port, keepalive=KEEPALIVE_S)
        self._client.loop_start()

    def stop(self) -> None:
        """Commit and acknowledge what was received, then disconnect."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._committer.stop(timeout=None)
        try:  # what arrived meanwhile, once; if that fails, the broker redelivers it
            self._commit([*self._in_hand, *self._queue])
        except (IngestError, OSError) as exc:
            log.error("could not make the last messages durable; redelivered later: %s", exc)
        if self.intake.held:
            log.error(
                "%d record(s) of readings held in memory are lost: the spool cannot take them",
                self.intake.held,
            )
        self._client.disconnect()
        self._client.loop_stop()

    @property
    def connected(self) -> bool:
        """True while connected to the broker."""
        return self._connected

    def publish(self, topic: str, payload: bytes, qos: int, retain: bool) -> mqtt.MQTTMessageInfo:
        """Publish on the service's one broker connection (the MQTT channels use it: with
        ``use_username_as_clientid`` a second connection of the account would replace it)."""
        return self._client.publish(topic, payload, qos=qos, retain=retain)

    def pending_age_s(self) -> float:
        """How long the oldest message received and not yet made durable has waited."""
        with self._cond:
            oldest = self._in_hand[:1] or self._queue[:1]
        return time.monotonic() - oldest[0].received_s if oldest else 0.0

    def wait_subscribed(self, timeout: float) -> bool:
        """Block until the broker has confirmed our subscription (or ``timeout`` passes)."""
        return self._subscribed.wait(timeout)

    # ------------------------------------------------------------------ paho callbacks

    def _on_connect(
        self, client: mqtt.Client, _userdata: Any, flags: Any, reason: Any, _props: Any
    ) -> None:
        if reason.is_failure:  # paho disconnects next: the next broker is tried
            log.error("MQTT broker %s refused the connection: %s", self._brokers.describe(), reason)
            return
        with self._cond:
            self._generation += 1
        self._connected = True
        self.metrics.mqtt_connected.set(1)
        client.subscribe([(topic, 1) for topic in self.subscriptions.filters])
        log.info(
            "connected to MQTT %s (session present: %s)",
            self._brokers.describe(),
            flags.session_present,
        )

    def _on_subscribe(
        self, client: mqtt.Client, _userdata: Any, _mid: int, reasons: Any, _props: Any
    ) -> None:
        refused = [
            topic
            for topic, reason in zip(self.subscriptions.filters, reasons, strict=False)
            if reason.is_failure
        ]
        if refused:  # e.g. an account that may not read a site: that site's data never comes
            log.error("MQTT broker refused our subscription to %s", refused)
            self.problems.report("mqtt subscription", f"the broker refused {refused}")
            return
        self.problems.clear("mqtt subscription")
        # Only now: on NATS an unsubscribed filter's queue is gone, so a site moving to
        # another process is subscribed there before it is dropped here.
        stale = self.subscriptions.stale()
        log.info("subscribed to %d topic filter(s)", len(self.subscriptions.filters))
        if stale:  # ready once they are gone too (the UNSUBACK)
            client.unsubscribe(stale)
        else:
            self._subscribed_only()

    def _on_unsubscribe(self, *_args: Any) -> None:
        self._subscribed_only()

    def _subscribed_only(self) -> None:
        """The session holds exactly this configuration's filters."""
        self.subscriptions.save()
        self._subscribed.set()

    def _on_disconnect(
        self, client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any
    ) -> None:
        self._connected = False
        self.metrics.mqtt_connected.set(0)
        if not self._stopping:
            log.warning("MQTT connection to %s lost (%s)", self._brokers.describe(), reason)
            # Only stop() disconnects on purpose, and it sets _stopping first: this does not
            # keep paho's loop from ending then.
            self._brokers.reconnect_next(client, KEEPALIVE_S)

    def _on_connect_fail(self, client: mqtt.Client, _userdata: Any) -> None:
        log.warning("MQTT broker %s does not answer", self._brokers.describe())
        self._brokers.reconnect_next(client, KEEPALIVE_S)

    def _on_message(self, _client: mqtt.Client, _userdata: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            topic = msg.topic
        except UnicodeDecodeError as exc:  # refused by the handler: no topic has U+FFFD
            topic = exc.object.decode("utf-8", "replace")
        payload = bytes(msg.payload)
        try:
            outcome = self.handler.handle(topic, payload)
        except Exception as exc:  # a bug must not stop the stream: keep the payload
            log.exception("internal error handling a message on %s", topic)
            outcome = Outcome(
                dead_letters=[DeadLetter(topic, "internal_error", repr(exc), payload)]
            )
        size = outcome.held_bytes()
        with self._cond:
            # Backpressure: when the commit thread falls behind (a slow or failing disk, or
            # a burst faster than it runs) the network thread waits, and the broker holds
            # further messages. The byte bound keeps a burst's memory small (4,800 queued
            # 50-reading envelopes cost the process 40 MB more, bench_ingest) and, as this
            # thread waits without the GIL, lets the commit thread run at once. 8 MiB is
            # half a second of 50-reading envelopes at 160,000 readings/s: a commit must
            # stall that long before alarms (handled on this thread) wait for it.
            while self._full() and not self._stopping:
                self._cond.wait(1.0)
            if self._stopping:
                return  # not acknowledged: the broker redelivers it next time
            self._queue.append(
                _Received(msg.mid, msg.qos, self._generation, outcome, time.monotonic())
            )
            self._queued_bytes += size
            if len(self._queue) == 1:  # the commit thread may be waiting for work
                self._cond.notify_all()

    def _full(self) -> bool:
        """The queue holds as much as it may (the condition's lock held)."""
        return len(self._queue) >= self.max_queued or self._queued_bytes >= self.max_queued_bytes

    # ------------------------------------------------------------------ commit thread

    def _commit_round(self) -> float:
        """Take what is queued and make it durable, then acknowledge it (the worker's step).

        A batch that cannot be made durable stays in hand and is retried with backoff: the
        broker holds everything after it meanwhile (nothing is acknowledged out of order).
        """
        if not self._in_hand:
            with self._cond:
                if not self._queue and not self._stopping:
                    self._cond.wait(0.5)
                self._in_hand, self._queue, self._queued_bytes = self._queue, [], 0
                self.metrics.queue_depth.set(len(self._in_hand))
                self._cond.notify_all()
        if not self._in_hand:
            self.intake.store([])  # readings held in memory go to the spool when it can
            return 0.0
        try:
            self._commit(self._in_hand)
        except (IngestError, OSError) as exc:
            delay = self._retry.next_delay()
            log.error(
                "cannot make %d message(s) durable (%s); retrying in %.1f s",
                len(self._in_hand),
                exc,
                delay,
            )
            self.problems.report("messages", f"not acknowledged, held at the broker: {exc}")
            return delay
        self._in_hand = []
        self._retry.reset()
        self.problems.clear("messages")
        return 0.0

    def _commit(self, batch: list[_Received]) -> None:
        letters = [letter for item in batch for letter in item.outcome.dead_letters]
        dropped = self.dead_letters.write(letters)
        self.metrics.dead_letters.inc(len(letters) - dropped)
        self.metrics.dead_letters_dropped.inc(dropped)
        # Durable, or held in memory while the spool cannot write (see overflow.py): the
        # broker must keep sending, or alarms stop after max_inflight_messages.
        records = [item.outcome.record for item in batch if item.outcome.record]
        self.intake.store(records, {span for item in batch for span in item.outcome.spans})
        self.metrics.spool_bytes.set(self.intake.spool.pending_bytes())
        try:  # the registry is a cache (meta is retained at the broker): never hold acks
            self.registry.save_seqs()  # what is acknowledged is never taken for missing
            self.registry.save_if_needed()
        except OSError as exc:
            self.problems.report("registry", f"cannot be saved ({exc}): kept in memory")
        else:
            self.problems.clear("registry")
        generation = self._generation
        self._client.ack_many(
            item.mid for item in batch if item.qos and item.generation == generation
        )
