"""Delivers the outbox: one thread per channel, the most urgent first, retried with backoff.

A notification is in the outbox before anyone is told (written in the same transaction
as the alert change), and marked sent right after the channel accepted it, so after a
crash or restart every notification is delivered; one whose delivery was in flight at
the crash may arrive twice (HTTP channels carry ``X-Campuswatch-Delivery: <id>`` so a
receiver can tell). A channel that is down holds only its own queue, and a notification
waiting for its retry does not hold the others.

Each channel takes what is due in the outbox's order (critical alarms first, then the
newest alert: see ingest/outbox/queue.py) and never faster than its robot allows
(:class:`RateLimit`). When more than ``COALESCE_AFTER`` are due at once on a channel read
by people (robots, e-mail), they go as one :class:`Digest`; machine channels (webhook,
MQTT) get every notification on its own.

Notifications whose alert could not be written (a full disk: see StateDatabase) are handed
over with :meth:`Dispatcher.send_from_memory` and go before the outbox; they are lost if
the service stops before they are delivered (there was nowhere to keep them).
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections import deque
from functools import partial
from typing import Any

from campuswatch.backoff import Backoff
from campuswatch.clock import Clock, now_ms
from campuswatch.notify.ratelimit import RateLimit
from campuswatch.notify.sender import ChannelError, ChannelRefused, Sender
from campuswatch.worker import Worker
from ingest.metrics import Metrics
from ingest.notify.digest import Digest
from ingest.outbox import Notification, Outbox, OutboxItem

log = logging.getLogger(__name__)

MAX_REFUSALS = 5  # a message refused this often is given up (and logged) so others can pass
COALESCE_AFTER = 3  # more due at once than this go as one digest (channels read by people)
_POLL_S = 0.2  # wake-up granularity while waiting for a retry (the clock may be a test's)


class Dispatcher:
    """Runs one delivery thread per configured channel."""

    def __init__(
        self,
        outbox: Outbox,
        senders: dict[str, Sender],
        metrics: Metrics,
        clock: Clock,
        digest: Digest | None = None,
        *,
        retry_base_s: float = 1.0,
        retry_cap_s: float = 60.0,
    ) -> None:
        self.outbox = outbox
        self.senders = senders
        self.metrics = metrics
        self.clock = clock
        self.digest = digest or Digest("zh", "Asia/Shanghai", "")
        self._backoffs = {name: Backoff(retry_base_s, retry_cap_s) for name in senders}
        self._limits = {
            name: RateLimit(sender.per_minute, clock)
            for name, sender in senders.items()
            if sender.per_minute
        }
        self._workers = {
            name: Worker(f"notify-{name}", partial(self._deliver_next, name)) for name in senders
        }
        self._memory: dict[str, deque[tuple[str, Notification]]] = {n: deque() for n in senders}
        self._memory_lock = threading.Lock()

    def start(self) -> None:
        """Start delivering (including what was left undelivered before a restart)."""
        orphans = self.outbox.fail_unknown_channels(list(self.senders), now_ms(self.clock))
        if orphans:
            log.warning("%d undelivered notification(s) were for removed channels", orphans)
        for worker in self._workers.values():
            worker.start()

    def stop(self) -> None:
        """Stop after the deliveries in flight; the rest stays in the outbox."""
        for worker in self._workers.values():
            worker.request_stop()
        for worker in self._workers.values():
            worker.join(timeout=None)
        for sender in self.senders.values():
            sender.close()

    def send_from_memory(self, notifications: list[tuple[str, Notification]]) -> None:
        """Deliver these (channel, notification) before the outbox: they are nowhere else."""
        with self._memory_lock:
            for channel, notification in notifications:
                if channel in self._memory:  # an id of its own: receivers de-duplicate by it
                    delivery = f"memory-{secrets.token_hex(8)}"
                    self._memory[channel].append((delivery, notification))
        self.wake({channel for channel, _ in notifications})

    def wake(self, channels: set[str]) -> None:
        """New notifications were committed for these channels."""
        for name in channels:
            worker = self._workers.get(name)
            if worker is not None:
                worker.wake()

    def _deliver_next(self, channel: str) -> float:
        """One round of a channel's worker: deliver what is due, if the channel allows."""
        limit = self._limits.get(channel)
        with self._memory_lock:
            unrecorded = self._memory[channel][0] if self._memory[channel] else None
        if unrecorded is not None:
            if limit is not None and (wait_s := limit.wait_s()) > 0:
                return min(wait_s, _POLL_S)
            return self._deliver_from_memory(channel, *unrecorded, limit)
        now = now_ms(self.clock)
        due = self.outbox.due(channel, now, COALESCE_AFTER + 1)
        if not due:
            later = self.outbox.next_attempt_ms(channel)
            return 1.0 if later is None else min(max(later - now, 0) / 1000, _POLL_S)
        if limit is not None and (wait_s := limit.wait_s()) > 0:
            return min(wait_s, _POLL_S)
        sender = self.senders[channel]
        if len(due) > COALESCE_AFTER and sender.digests:
            items = self.outbox.due(channel, now)
            body = self.digest.body(items, now)
            self.metrics.notifications_coalesced.labels(channel).inc(len(items))
        else:
            items, body = due[:1], due[0].notification.payload()
        if limit is not None:
            limit.take()
        self._deliver(channel, items, body)
        self.metrics.notifications_waiting.set(self.outbox.waiting())
        return 0.0

    def _deliver_from_memory(
        self, channel: str, delivery: str, notification: Notification, limit: RateLimit | None
    ) -> float:
        if limit is not None:
            limit.take()
        try:
            self.senders[channel].send(notification.payload(), delivery)
        except ChannelError as exc:  # refused or not: it is an alarm, keep trying
            delay = self._backoffs[channel].next_delay()
            log.warning(
                "channel %s: an alarm told from memory was not delivered, retrying in %.1f s: %s",
                channel,
                delay,
                exc,
            )
            self.metrics.notifications.labels(channel, "retry").inc()
            return delay
        with self._memory_lock:
            self._memory[channel].popleft()
        self.metrics.notifications.labels(channel, "sent").inc()
        self._backoffs[channel].reset()
        return 0.0

    def _deliver(self, channel: str, items: list[OutboxItem], body: dict[str, Any]) -> None:
        ids = [item.id for item in items]
        try:
            self.senders[channel].send(body, str(ids[0]))
        except ChannelRefused as exc:
            if max(item.attempts for item in items) + 1 >= MAX_REFUSALS:
                log.error(
                    "channel %s refused notification(s) %s (alert %d) %d times, giving up: %s",
                    channel,
                    _ids(ids),
                    items[0].alert_id,
                    MAX_REFUSALS,
                    exc,
                )
                self.outbox.mark_failed(ids, now_ms(self.clock), str(exc))
                self.metrics.notifications.labels(channel, "failed").inc(len(ids))
                return
            self._retry(channel, items, exc)
        except ChannelError as exc:
            self._retry(channel, items, exc)
        else:
            self.outbox.mark_sent(ids, now_ms(self.clock))
            self.metrics.notifications.labels(channel, "sent").inc(len(ids))
            self._backoffs[channel].reset()

    def _retry(self, channel: str, items: list[OutboxItem], exc: Exception) -> None:
        delay = self._backoffs[channel].next_delay()
        ids = [item.id for item in items]
        log.warning(
            "channel %s: notification(s) %s (alert %d) not delivered, retrying in %.1f s: %s",
            channel,
            _ids(ids),
            items[0].alert_id,
            delay,
            exc,
        )
        self.outbox.mark_retry(ids, now_ms(self.clock) + int(delay * 1000), str(exc))
        self.metrics.notifications.labels(channel, "retry").inc(len(ids))


def _ids(ids: list[int]) -> str:
    return str(ids[0]) if len(ids) == 1 else f"{ids[0]} and {len(ids) - 1} more (a digest)"
