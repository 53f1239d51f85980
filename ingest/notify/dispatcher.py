"""Delivers the outbox: one thread per channel, in order, retried with backoff.

A notification is in the outbox before anyone is told (written in the same transaction
as the alert change), and marked sent right after the channel accepted it, so after a
crash or restart every notification is delivered; one whose delivery was in flight at
the crash may arrive twice (HTTP channels carry ``X-Campuswatch-Delivery: <id>`` so a
receiver can tell). A channel that is down holds only its own queue.
"""

from __future__ import annotations

import logging
from functools import partial

from campuswatch.backoff import Backoff
from campuswatch.clock import Clock, now_ms
from campuswatch.worker import Worker
from ingest.metrics import Metrics
from ingest.notify.channels import ChannelError, ChannelRefused, Sender
from ingest.rules.store import AlertStore, OutboxItem

log = logging.getLogger(__name__)

MAX_REFUSALS = 5  # a message refused this often is given up (and logged) so others can pass
_POLL_S = 0.2  # wake-up granularity while waiting for a retry (the clock may be a test's)


class Dispatcher:
    """Runs one delivery thread per configured channel."""

    def __init__(
        self,
        store: AlertStore,
        senders: dict[str, Sender],
        metrics: Metrics,
        clock: Clock,
        *,
        retry_base_s: float = 1.0,
        retry_cap_s: float = 60.0,
    ) -> None:
        self.store = store
        self.senders = senders
        self.metrics = metrics
        self.clock = clock
        self.retry_base_s = retry_base_s
        self.retry_cap_s = retry_cap_s
        self._backoffs = {name: Backoff(retry_base_s, retry_cap_s) for name in senders}
        self._workers = {
            name: Worker(f"notify-{name}", partial(self._deliver_next, name)) for name in senders
        }

    def start(self) -> None:
        """Start delivering (including what was left undelivered before a restart)."""
        orphans = self.store.fail_unknown_channels(list(self.senders), now_ms(self.clock))
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

    def wake(self, channels: set[str]) -> None:
        """New notifications were committed for these channels."""
        for name in channels:
            worker = self._workers.get(name)
            if worker is not None:
                worker.wake()

    def _deliver_next(self, channel: str) -> float:
        """One round of a channel's worker: deliver its next notification when it is due."""
        item = self.store.next_notification(channel)
        if item is None:
            return 1.0  # or sooner: wake() says when there is something new
        wait_ms = item.next_attempt_ms - now_ms(self.clock)
        if wait_ms > 0:
            return min(wait_ms / 1000, _POLL_S)
        self._deliver(channel, item, self._backoffs[channel])
        self.metrics.notifications_waiting.set(self.store.waiting_notifications())
        return 0.0

    def _deliver(self, channel: str, item: OutboxItem, backoff: Backoff) -> None:
        try:
            self.senders[channel].send(item.body, item.id)
        except ChannelRefused as exc:
            if item.attempts + 1 >= MAX_REFUSALS:
                log.error(
                    "channel %s refused notification %d (alert %d) %d times, giving up: %s",
                    channel,
                    item.id,
                    item.alert_id,
                    MAX_REFUSALS,
                    exc,
                )
                self.store.mark_failed(item.id, now_ms(self.clock), str(exc))
                self.metrics.notifications.labels(channel, "failed").inc()
                return
            self._retry(channel, item, backoff, exc)
        except ChannelError as exc:
            self._retry(channel, item, backoff, exc)
        else:
            self.store.mark_sent(item.id, now_ms(self.clock))
            self.metrics.notifications.labels(channel, "sent").inc()
            backoff.reset()

    def _retry(self, channel: str, item: OutboxItem, backoff: Backoff, exc: Exception) -> None:
        delay = backoff.next_delay()
        log.warning(
            "channel %s: notification %d (alert %d) not delivered, retrying in %.1f s: %s",
            channel,
            item.id,
            item.alert_id,
            delay,
            exc,
        )
        self.store.mark_retry(item.id, now_ms(self.clock) + int(delay * 1000), str(exc))
        self.metrics.notifications.labels(channel, "retry").inc()
