"""Alert state transitions, each recorded with its history event and its notifications
in the store's current transaction (pending → firing → acknowledged → resolved)."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING

from campuswatch.signal import Signal
from ingest.config.rules import ConditionRuleConfig, GatewayOfflineRuleConfig, SilentRuleConfig
from ingest.health import Problems
from ingest.outbox import Notification, Outbox, priority
from ingest.rules.conditions import first_field
from ingest.rules.model import Alert, AlertEvent, EventState
from ingest.rules.state import DeviceState, as_number
from ingest.rules.wording import default_title, notification_body, plain_body, say

if TYPE_CHECKING:
    from ingest.config.rules import RuleConfig
    from ingest.config.schema import IngestConfig
    from ingest.metrics import Metrics
    from ingest.rules.store import AlertStore

log = logging.getLogger(__name__)


Decorate = Callable[[Alert, Notification], Notification]
"""Adds to a notification before it is queued (its ack and snapshot links)."""
Unrecorded = Callable[[list[tuple[str, Notification]]], None]
"""Delivers notifications that could not be written to the outbox (a full disk)."""


class Lifecycle:
    """Moves alerts between states; the caller holds an open store transaction."""

    def __init__(
        self,
        config: IngestConfig,
        store: AlertStore,
        outbox: Outbox,
        metrics: Metrics,
        wake: Callable[[set[str]], None] = lambda _channels: None,
        problems: Problems | None = None,
        *,
        unrecorded: Unrecorded | None = None,
        decorate: Decorate | None = None,
        changed: Signal[[]] | None = None,
    ) -> None:
        """``wake``: told which channels have new notifications, after the commit;
        ``changed``: emitted after a commit that changed an alert (the live board)."""
        self.store = store
        self.outbox = outbox
        self.metrics = metrics
        self.problems = problems or Problems()
        self.unrecorded = unrecorded or (lambda _bodies: None)
        self.wake = wake
        self.alerts_changed: Signal[[]] = changed if changed is not None else Signal("alerts")
        self.decorate = decorate
        self.lang = config.site.language
        self.timezone = config.site.timezone
        self.woken: set[str] = set()  # channels with new notifications since the last commit
        self.changed = False  # some alert changed since the last commit

    def run(self, work: Callable[[], None], rolled_back: Callable[[], None]) -> None:
        """Run ``work`` as one store transaction, begun before its first change; commit,
        then wake the channels it queued notifications for. On an error roll back, call
        ``rolled_back`` (in-memory alerts may hold changes the store undid) and re-raise.

        So an alert's state, its history event and its outbox entries are durable together
        or not at all, whichever path fired it. When the database cannot be written (a
        full disk), ``work`` runs again in memory and its notifications go out from there.
        """
        try:
            self._attempt(work, rolled_back, in_memory=False)
        except (sqlite3.Error, OSError) as exc:
            self.problems.report("alerts", f"the alert database cannot be written ({exc}):"
                                 " alarms are notified from memory")  # fmt: skip
            self._attempt(work, rolled_back, in_memory=True)
            self.unrecorded([(c, self._unrecorded(n)) for c, n in self.outbox.take_unrecorded()])
        else:
            if self.changed:
                self.problems.clear("alerts")
        self._after_commit()

    def _attempt(
        self, work: Callable[[], None], rolled_back: Callable[[], None], *, in_memory: bool
    ) -> None:
        self.store.start_transaction(in_memory=in_memory)
        try:
            work()
            self.store.end_transaction(commit=True)
        except BaseException:
            if self.store.in_transaction:
                self.store.end_transaction(commit=False)
            self.woken.clear()
            self.changed = False
            rolled_back()
            raise

    def _unrecorded(self, notification: Notification) -> Notification:
        """A notification told from memory: no ack link (its alert id is not kept), and
        a word about the disk."""
        note = say("unrecorded", self.lang)
        message = f"{notification.body['message']}\n{note}"
        return notification.with_parts(alert_id=0, ack_url=None, message=message)

    def _after_commit(self) -> None:
        woken, self.woken = self.woken, set()
        if woken:
            self.wake(woken)
        if self.changed:
            self.changed = False
            self.alerts_changed.emit()

    def open(self, rule: RuleConfig, dev: DeviceState, since_ms: int, now_ms: int) -> Alert:
        """Record a new pending alert of ``rule`` on ``dev``, its condition true since
        ``since_ms``; titled by the rule or by what the condition is about."""
        field_name = None
        if isinstance(rule, ConditionRuleConfig):
            field_name = first_field(rule.when, dev.values)  # type: ignore[arg-type]
        title_key = {SilentRuleConfig: "silent", GatewayOfflineRuleConfig: "gateway_offline"}
        alert = Alert(
            rule=rule.id,
            site=dev.site,
            gateway=dev.gateway,
            device=dev.device,
            kind=dev.kind,
            severity=rule.severity,
            state="pending",
            since_ms=since_ms,
            title=rule.title
            or default_title(title_key.get(type(rule), dev.kind), field_name, self.lang),
            field=field_name,
            value=as_number(dev.values.get(field_name or "")),
            tags={k: v for k, v in dev.tags.items() if k not in ("site", "gateway", "device")},
            name=dev.name,
        )
        self.changed = True
        self.store.save_alert(alert)
        self._event(alert, "pending", now_ms)
        return alert

    def fire(self, alert: Alert, rule: RuleConfig, now_ms: int) -> None:
        """The condition held long enough: notify (unless ``once_per`` says this device's
        alert of this rule was told recently: then it fires untold)."""
        alert.state = "firing"
        alert.started_ms = alert.last_notified_ms = now_ms
        self.metrics.alerts_fired.labels(alert.rule, alert.severity).inc()
        log.warning("alert %d fired: %s %s on %s", alert.id, alert.rule, alert.title, alert.device)
        if rule.once_per and self.store.told_since(
            alert, now_ms - int(rule.once_per.total_seconds() * 1000)
        ):
            alert.last_notified_ms = None  # untold: its end is not told either
            self._step(alert, "firing", [], now_ms, note="once_per")
            return
        self._step(alert, "firing", rule.notify, now_ms)

    def repeat(self, alert: Alert, rule: RuleConfig, now_ms: int) -> None:
        """Still firing and nobody acknowledged: remind."""
        alert.last_notified_ms = now_ms
        self._step(alert, "repeat", rule.notify, now_ms)

    def escalate(self, alert: Alert, rule: RuleConfig, now_ms: int) -> None:
        """Unacknowledged for too long: tell more people (once)."""
        alert.escalated = True
        channels = rule.escalate.notify if rule.escalate else []
        self._step(alert, "escalated", channels, now_ms)

    def acknowledge(
        self, alert: Alert, rule: RuleConfig | None, by: str, note: str, now_ms: int
    ) -> None:
        """A person has taken the alert; repeats and escalation stop (an alert told late
        is over already: it stays resolved)."""
        if alert.state != "resolved":
            alert.state = "acknowledged"
        alert.acknowledged_by, alert.ack_note, alert.acknowledged_ms = by, note, now_ms
        log.info("alert %d acknowledged by %s", alert.id, by)
        self._step(alert, "acknowledged", self._audience(alert, rule), now_ms, by, note)

    def resolve(
        self,
        alert: Alert,
        rule: RuleConfig | None,
        now_ms: int,
        note: str | None = None,
        ending: str | None = None,
    ) -> None:
        """The condition is over, or no longer applies: ``note`` says why, and ``ending``
        (``schedule_end``) when the rule's hours ended."""
        alert.state = "resolved"
        alert.resolved_ms = now_ms
        log.info("alert %d resolved (%s on %s)", alert.id, alert.rule, alert.device)
        audience = self._audience(alert, rule)
        self._step(alert, "resolved", audience, now_ms, note=note, ending=ending)

    def late(self, alert: Alert, rule: RuleConfig, ended_ms: int, now_ms: int) -> None:
        """A critical condition that began and ended inside a backlog: told once, as
        ``late`` with both times, and recorded as resolved at its end (SPEC §5)."""
        alert.state = "resolved"
        alert.started_ms = alert.last_notified_ms = now_ms
        alert.resolved_ms = ended_ms
        self.metrics.alerts_fired.labels(alert.rule, alert.severity).inc()
        log.warning("alert %d told late: %s %s on %s", alert.id, alert.rule, alert.title,
                    alert.device)  # fmt: skip
        self._step(alert, "late", rule.notify, now_ms)
        self._event(alert, "resolved", now_ms)

    def drop(self, alert: Alert) -> None:
        """A pending alert whose condition cleared in time: forget it, tell nobody."""
        self.changed = True
        self.store.delete_alert(alert.id)
        alert.state = "resolved"

    def _audience(self, alert: Alert, rule: RuleConfig | None) -> list[str]:
        if rule is None or alert.last_notified_ms is None:  # untold (once_per): stays so
            return []
        channels = list(rule.notify)
        if alert.escalated and rule.escalate:
            channels += [c for c in rule.escalate.notify if c not in channels]
        return channels

    def _step(
        self,
        alert: Alert,
        state: EventState,
        channels: list[str],
        now_ms: int,
        actor: str | None = None,
        note: str | None = None,
        ending: str | None = None,
    ) -> None:
        self.changed = True
        if alert.state == "pending":
            self.store.save_alert(alert)
            self._event(alert, state, now_ms, actor, note)
            return
        notification = self._notification(alert, state, now_ms, note, ending)
        alert.snapshot = notification.body.get("snapshot") or alert.snapshot
        self.store.save_alert(alert)
        self._event(alert, state, now_ms, actor, note)
        for channel in channels:
            self.outbox.add(channel, notification, now_ms)
            self.woken.add(channel)

    def _notification(
        self, alert: Alert, state: EventState, now_ms: int, note: str | None, ending: str | None
    ) -> Notification:
        """The notification's body. Its optional parts (links, wording) must never stop
        an alarm from being recorded and sent: a failure there is logged, made a health
        problem, and the alarm goes with a plain message and without the part."""
        try:
            body = notification_body(
                alert, state, lang=self.lang, timezone=self.timezone, now_ms=now_ms, note=note,
                ending=ending,
            )  # fmt: skip
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
            self.problems.report("message links", "the last message's links could not be"
                                 " made: see the log")  # fmt: skip
            return plain if "ack_url" in plain.body else plain.with_parts(ack_url=None)
        self.problems.clear("message links")
        return decorated

    def _event(
        self,
        alert: Alert,
        state: EventState,
        now_ms: int,
        actor: str | None = None,
        note: str | None = None,
    ) -> None:
        self.store.add_event(AlertEvent(alert.id, now_ms, state, actor, note, alert.value))
