"""Records what the engine decided: one :class:`~ingest.rules.transitions.Batch` as one
transaction of the alert database: each alert's state, its history events, the condition
states, the ack links used and the notifications queued in the outbox, durable together
or not at all. After the commit the channels are woken and the live board told.

When the database cannot be written (a full disk), the batch is recorded again in memory:
new alerts get negative ids (written as new alerts at their next change once the disk has
room), and the notifications are delivered from memory, so an alarm is still told.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from campuswatch.signal import Signal
from ingest.config.places import Places
from ingest.config.schema import IngestConfig
from ingest.health import Problems
from ingest.outbox import Notification, Outbox, priority
from ingest.rules.alert_text import notification_body, plain_body, say
from ingest.rules.model import Alert, AlertEvent, EventState
from ingest.rules.store import AlertStore
from ingest.rules.transitions import Batch, Transition

log = logging.getLogger(__name__)

Decorate = Callable[[Alert, Notification], Notification]
"""Adds to a notification before it is queued (its ack and snapshot links)."""
Unrecorded = Callable[[list[tuple[str, Notification]]], None]
"""Delivers the notifications of a batch that could only be recorded in memory."""
Route = Callable[[Sequence[str], Alert], list[tuple[str, dict[str, Any]]]]
"""Turns a step's channel names into channels and parts for their senders (``on_duty``
becomes the people on duty now, a device under repair is told to nobody: see
ingest/duty/service.py)."""


def _as_is(
    channels: Sequence[str], _alert: Alert | None = None
) -> list[tuple[str, dict[str, Any]]]:
    return [(channel, {}) for channel in channels]


"""Delivers notifications that could not be written to the outbox (a full disk)."""


def _log(step: Transition) -> None:
    """Say what happened to the alert, once recorded (with its id)."""
    if step.dropped:
        return
    alert, first = step.record, step.events[0]
    if first == "edge" and not step.channels:
        log.info("alert %d: its gateway told it on its own too", alert.id)
    elif first in ("firing", "late", "edge"):
        words = {"firing": "fired", "late": "told late", "edge": "told after the gateway"}[first]
        log.warning(
            "alert %d %s: %s %s on %s", alert.id, words, alert.rule, alert.title, alert.device
        )
    elif first == "acknowledged":
        log.info("alert %d acknowledged by %s", alert.id, step.actor)
    elif first == "resolved":
        log.info("alert %d resolved (%s on %s)", alert.id, alert.rule, alert.device)


class Recorder:
    """Applies batches; the caller holds the engine's lock."""

    def __init__(
        self,
        config: IngestConfig,
        store: AlertStore,
        outbox: Outbox,
        problems: Problems,
        *,
        wake: Callable[[set[str]], None],
        changed: Signal[[]],
        unrecorded: Unrecorded | None = None,
        decorate: Decorate | None = None,
        route: Route | None = None,
    ) -> None:
        """``wake``: told which channels have new notifications, after the commit;
        ``changed``: emitted after a commit that changed an alert (the live board);
        ``route``: the channels a step's channel names stand for."""
        self.store = store
        self.outbox = outbox
        self.problems = problems
        self.wake = wake
        self.changed = changed
        self.unrecorded = unrecorded or (lambda _notifications: None)
        self.decorate = decorate
        self.route = route or _as_is
        self.lang = config.site.language
        self.timezone = config.site.timezone
        self.places = Places(config.places)

    def apply(self, batch: Batch) -> None:
        """Record ``batch`` in one transaction, then wake its channels; in memory when
        the database cannot be written. Raises what recording in memory raised."""
        if not batch:
            return
        try:
            channels = self._attempt(batch, in_memory=False)
        except (sqlite3.Error, OSError) as exc:
            self.problems.report(
                "alerts",
                f"the alert database cannot be written ({exc}): alarms are notified from memory",
            )
            channels = self._attempt(batch, in_memory=True)
            told = [(c, self._from_memory(n)) for c, n in self.outbox.take_unrecorded()]
            self._after(lambda: self.unrecorded(told))
        else:
            if batch.transitions:
                self.problems.clear("alerts")
        for step in batch.transitions:
            _log(step)
        if channels:
            self._after(lambda: self.wake(channels))
        if batch.transitions:
            self.changed.emit()

    @staticmethod
    def _after(hook: Callable[[], None]) -> None:
        """Run a hook of a recorded batch: a failure there is logged, never taken for a
        failure to record (the alerts are recorded; the channels poll the outbox anyway)."""
        try:
            hook()
        except Exception:
            log.exception("after recording alerts: a delivery hook failed")

    def _attempt(self, batch: Batch, *, in_memory: bool) -> set[str]:
        """Write the batch; returns the channels it queued notifications for. On an error
        everything is rolled back, ids given by this attempt included."""
        given: list[tuple[Alert, int]] = []  # live alerts given an id here, with the old one
        channels: set[str] = set()
        self.store.start_transaction(in_memory=in_memory)
        try:
            for nonce, alert_id, used_ms in batch.links_used:
                self.store.use_ack_link(nonce, alert_id, used_ms)
            for site, told in batch.edge_told:
                self.store.save_edge_told(site, told)
            for key, state in batch.conditions.items():
                self.store.save_condition(*key, state)
            for step in batch.transitions:
                channels |= self._record(step, given)
            self.store.end_transaction(commit=True)
        except BaseException:
            if self.store.in_transaction:
                self.store.end_transaction(commit=False)
            for alert, old_id in given:
                alert.id = old_id
            raise
        return channels

    def _record(self, step: Transition, given: list[tuple[Alert, int]]) -> set[str]:
        alert, record = step.alert, step.record
        if step.dropped:
            self.store.delete_alert(alert.id)
            return set()
        # Set when recorded, so maybe by an earlier step of this batch (never by deciding).
        record.id, record.snapshot = alert.id, alert.snapshot
        self.store.save_alert(record)  # a new alert (id <= 0) is inserted: it gets its id
        if record.id != alert.id:
            given.append((alert, alert.id))
            alert.id = record.id
        for state in step.events:
            event = AlertEvent(record.id, step.now_ms, state, step.actor, step.note, record.value)
            self.store.add_event(event)
        if not step.channels:
            return set()
        notification = self._notification(record, step.events[0], step)
        snapshot = notification.body.get("snapshot")
        if snapshot and snapshot != record.snapshot:  # the console's alert page shows it
            record.snapshot = alert.snapshot = snapshot
            self.store.save_alert(record)
        routed = self._routed(step.channels, record)
        for channel, parts in routed:
            told = notification.with_parts(**parts) if parts else notification
            self.outbox.add(channel, told, step.now_ms)
        return {channel for channel, _ in routed}

    def _routed(self, channels: Sequence[str], alert: Alert) -> list[tuple[str, dict[str, Any]]]:
        """The step's channels routed. The route hook falls back itself (duty.fallback);
        should it still fail, the alarm must not stop: the names that are channels are
        told as they are (``on_duty`` cannot be), and health says so."""
        try:
            routed = self.route(channels, alert)
        except Exception:
            log.exception("routing %s failed: told without on_duty", list(channels))
            self.problems.report("routing", "on_duty could not be resolved: see the log")
            return _as_is([c for c in channels if c != "on_duty"])
        self.problems.clear("routing")
        return routed

    def _notification(self, alert: Alert, state: EventState, step: Transition) -> Notification:
        """The notification of ``alert``'s step. Its optional parts (links, wording) must
        never stop an alarm from being recorded and sent: a failure there is logged, made
        a health problem, and the alarm goes with a plain message and without the part."""
        now_ms = step.now_ms
        try:
            body = notification_body(
                alert,
                state,
                lang=self.lang,
                timezone=self.timezone,
                places=self.places,
                now_ms=now_ms,
                note=step.note,
                ending=step.ending,
            )
        except Exception:  # optional: see above
            log.exception("alert %d: wording failed, told in plain words", alert.id)
            self.problems.report("wording", "the last message could not be worded: see the log")
            body = plain_body(alert, state, now_ms)
        else:
            self.problems.clear("wording")
        subject = f"{alert.site}/{alert.gateway}/{alert.device}"
        plain = Notification(body, alert.id, priority(alert.severity, state), subject)
        if self.decorate is None:
            return plain
        try:
            decorated = self.decorate(alert, plain)
        except Exception:  # optional: see above
            log.exception("alert %d: its links failed, told without them", alert.id)
            self.problems.report(
                "message links", "the last message's links could not be made: see the log"
            )
            return plain if "ack_url" in plain.body else plain.with_parts(ack_url=None)
        self.problems.clear("message links")
        return decorated

    def _from_memory(self, notification: Notification) -> Notification:
        """A notification told from memory: no ack link (its alert id is not kept), and
        a word about the disk."""
        note = say("unrecorded", self.lang)
        message = f"{notification.body['message']}\n{note}"
        told = notification.with_parts(alert_id=0, ack_url=None, message=message)
        return replace(told, alert_id=0)
