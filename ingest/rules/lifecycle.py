"""Alert state transitions, each recorded with its history event and its notifications
in the store's current transaction (pending → firing → acknowledged → resolved)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ingest.rules.model import Alert, AlertEvent, EventState
from ingest.rules.wording import notification_body

if TYPE_CHECKING:
    from ingest.config.schema import IngestConfig, RuleConfig
    from ingest.metrics import Metrics
    from ingest.rules.store import AlertStore

log = logging.getLogger(__name__)


class Lifecycle:
    """Moves alerts between states; the caller holds an open store transaction."""

    def __init__(self, config: IngestConfig, store: AlertStore, metrics: Metrics) -> None:
        self.store = store
        self.metrics = metrics
        self.lang = config.site.language
        self.timezone = config.site.timezone
        self.woken: set[str] = set()  # channels with new notifications since the last commit
        self.changed = False  # some alert changed since the last commit
        # Adds to a notification body before it is queued (the camera snapshot link).
        self.decorate: Callable[[Alert, dict[str, Any]], None] | None = None

    def open(self, alert: Alert, now_ms: int) -> None:
        """Record a new pending alert."""
        self.changed = True
        self.store.save_alert(alert)
        self._event(alert, "pending", now_ms)

    def fire(self, alert: Alert, rule: RuleConfig, now_ms: int) -> None:
        """The condition held long enough: notify."""
        alert.state = "firing"
        alert.started_ms = alert.last_notified_ms = now_ms
        self.metrics.alerts_fired.labels(alert.rule, alert.severity).inc()
        log.warning("alert %d fired: %s %s on %s", alert.id, alert.rule, alert.title, alert.device)
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
        """A person has taken the alert; repeats and escalation stop."""
        alert.state = "acknowledged"
        alert.acknowledged_by, alert.ack_note, alert.acknowledged_ms = by, note, now_ms
        log.info("alert %d acknowledged by %s", alert.id, by)
        self._step(alert, "acknowledged", self._audience(alert, rule), now_ms, by, note)

    def resolve(
        self, alert: Alert, rule: RuleConfig | None, now_ms: int, note: str | None = None
    ) -> None:
        """The condition is over (or no longer applies)."""
        alert.state = "resolved"
        alert.resolved_ms = now_ms
        log.info("alert %d resolved (%s on %s)", alert.id, alert.rule, alert.device)
        self._step(alert, "resolved", self._audience(alert, rule), now_ms, note=note)

    def drop(self, alert: Alert) -> None:
        """A pending alert whose condition cleared in time: forget it, tell nobody."""
        self.changed = True
        self.store.delete_alert(alert.id)
        alert.state = "resolved"

    def _audience(self, alert: Alert, rule: RuleConfig | None) -> list[str]:
        if rule is None:
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
    ) -> None:
        self.changed = True
        self.store.save_alert(alert)
        self._event(alert, state, now_ms, actor, note)
        if alert.state == "pending":
            return
        body = notification_body(
            alert, state, lang=self.lang, timezone=self.timezone, now_ms=now_ms, note=note
        )
        if self.decorate is not None:
            self.decorate(alert, body)
        for channel in channels:
            self.store.enqueue(alert.id, channel, body, now_ms)
            self.woken.add(channel)

    def _event(
        self,
        alert: Alert,
        state: EventState,
        now_ms: int,
        actor: str | None = None,
        note: str | None = None,
    ) -> None:
        self.store.add_event(AlertEvent(alert.id, now_ms, state, actor, note, alert.value))
