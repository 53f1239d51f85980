"""Delivers the outbox: one thread per channel, in order, retried with backoff.

A notification is in the outbox before anyone is told (written in the same transaction
as the alert change), and marked sent right after the channel accepted it, so after a
crash or restart every notification is delivered; one whose delivery was in flight at
the crash may arrive twice (HTTP channels carry ``X-Campuswatch-Delivery: <id>`` so a
receiver can tell). A channel that is down holds only its own queue.
"""

from __future__ import annotations

import logging
import threading

from gateway.backoff import Backoff
from gateway.clock import Clock, now_ms
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
        self._stopping = threading.Event()
        self._wakeups = {name: threading.Event() for name in senders}
        self._threads = [
            threading.Thread(target=self._deliver_loop, args=(name,), name=f"notify-{name}")
            for name in senders
        ]

    def start(self) -> None:
        """Start delivering (including what was left undelivered before a restart)."""
        orphans = self.store.fail_unknown_channels(list(self.senders), now_ms(self.clock))
        if orphans:
            log.warning("%d undelivered notification(s) were for removed channels", orphans)
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Stop after the deliveries in flight; the rest stays in the outbox."""
        self._stopping.set()
        for event in self._wakeups.values():
            event.set()
        for thread in self._threads:
            if thread.is_alive():
                thread.join()
        for sender in self.senders.values():
            sender.close()

    def wake(self, channels: set[str]) -> None:
        """New notifications were committed for these channels."""
        for name in channels:
            event = self._wakeups.get(name)
            if event is not None:
                event.set()

    def _deliver_loop(self, channel: str) -> None:
        backoff = Backoff(self.retry_base_s, self.retry_cap_s)
        wakeup = self._wakeups[channel]
        while not self._stopping.is_set():
            wakeup.clear()
            try:
                item = self.store.next_notification(channel)
                if item is None:
                    wakeup.wait(1.0)
                    continue
                wait_ms = item.next_attempt_ms - now_ms(self.clock)
                if wait_ms > 0:
                    wakeup.wait(min(wait_ms / 1000, _POLL_S))
                    continue
                self._deliver(channel, item, backoff)
            except Exception:  # keep the channel alive whatever went wrong
                log.exception("notification channel %s: internal error", channel)
                self._stopping.wait(1.0)
            self.metrics.notifications_waiting.set(self.store.waiting_notifications())

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
