"""Alert state transitions (pending → firing → acknowledged → resolved), decided on the
live alerts and added to the input's :class:`~ingest.rules.transitions.Batch`; nothing is
written here (the recorder writes a batch in one transaction). Alerts that end leave the
:class:`~ingest.rules.alerts.AlertBook` here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ingest.config.rules import (
    ConditionRuleConfig,
    GatewayOfflineRuleConfig,
    RoundMissedRuleConfig,
    SampleExcursionRuleConfig,
    SilentRuleConfig,
)
from ingest.rules.alert_text import default_title
from ingest.rules.alerts import AlertBook
from ingest.rules.conditions import first_field
from ingest.rules.model import Alert, EventState
from ingest.rules.state import WatchedDevice, as_number
from ingest.rules.transitions import Batch

if TYPE_CHECKING:
    from ingest.config.rules import RuleConfig
    from ingest.metrics import Metrics
    from ingest.rules.store import AlertStore

_TITLE_KEYS = {
    SilentRuleConfig: "silent",
    GatewayOfflineRuleConfig: "gateway_offline",
    RoundMissedRuleConfig: "round_missed",
    SampleExcursionRuleConfig: "sample_excursion",
}


class Lifecycle:
    """Moves alerts between states; the caller holds the engine's lock."""

    def __init__(self, book: AlertBook, store: AlertStore, metrics: Metrics, lang: str) -> None:
        """``store``: read only, for what was told before (``once_per``)."""
        self.book = book
        self.store = store
        self.metrics = metrics
        self.lang = lang

    def open(
        self, batch: Batch, rule: RuleConfig, dev: WatchedDevice, since_ms: int, now_ms: int
    ) -> Alert:
        """A new pending alert of ``rule`` on ``dev``, its condition true since
        ``since_ms``; titled by the rule or by what the condition is about."""
        field_name = None
        if isinstance(rule, ConditionRuleConfig):
            field_name = first_field(rule.when, dev.values)
        title = rule.title or default_title(
            _TITLE_KEYS.get(type(rule), dev.kind), field_name, self.lang
        )
        alert = Alert(
            rule=rule.id,
            site=dev.site,
            gateway=dev.gateway,
            device=dev.device,
            kind=dev.kind,
            severity=rule.severity,
            state="pending",
            since_ms=since_ms,
            title=title,
            field=field_name,
            value=as_number(dev.values.get(field_name or "")),
            tags={k: v for k, v in dev.tags.items() if k not in ("site", "gateway", "device")},
            name=dev.name,
        )
        batch.step(alert, ("pending",), now_ms)
        return alert

    def fire(self, batch: Batch, alert: Alert, rule: RuleConfig, now_ms: int) -> None:
        """The condition held long enough: notify (unless ``once_per`` says this device's
        alert of this rule was told recently: then it fires untold); as ``edge`` when the
        gateway told it already while cut off from the server (SPEC §12)."""
        alert.state = "firing"
        alert.started_ms = alert.last_notified_ms = now_ms
        self.metrics.alerts_fired.labels(alert.rule, alert.severity).inc()
        if self._teller(alert, None, "firing") == "edge":
            batch.step(alert, ("edge",), now_ms, rule.notify)
            return
        if rule.once_per:
            since = now_ms - int(rule.once_per.total_seconds() * 1000)
            if batch.told_since(alert, since) or self.store.told_since(alert, since):
                alert.last_notified_ms = alert.notified_by = None  # untold: its end too
                batch.step(alert, ("firing",), now_ms, note="once_per")
                return
        batch.step(alert, ("firing",), now_ms, rule.notify)

    def repeat(self, batch: Batch, alert: Alert, rule: RuleConfig, now_ms: int) -> None:
        """Still firing and nobody acknowledged: remind."""
        alert.last_notified_ms = now_ms
        batch.step(alert, ("repeat",), now_ms, rule.notify)

    def escalate(self, batch: Batch, alert: Alert, rule: RuleConfig, now_ms: int) -> None:
        """Unacknowledged for too long: tell more people (once)."""
        alert.escalated = True
        channels = rule.escalate.notify if rule.escalate else []
        batch.step(alert, ("escalated",), now_ms, channels)

    def acknowledge(
        self, batch: Batch, alert: Alert, rule: RuleConfig | None, by: str, note: str, now_ms: int
    ) -> None:
        """A person has taken the alert; repeats and escalation stop (an alert told late
        is over already: it stays resolved)."""
        if alert.state != "resolved":
            alert.state = "acknowledged"
        alert.acknowledged_by, alert.ack_note, alert.acknowledged_ms = by, note, now_ms
        audience = self._audience(alert, rule)
        batch.step(alert, ("acknowledged",), now_ms, audience, actor=by, note=note)

    def resolve(
        self,
        batch: Batch,
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
        audience = self._audience(alert, rule) if rule is None or rule.tell_resolved else []
        batch.step(alert, ("resolved",), now_ms, audience, note=note, ending=ending)

    def late(
        self, batch: Batch, alert: Alert, rule: RuleConfig, ended_ms: int, now_ms: int
    ) -> None:
        """A critical condition that began and ended inside a backlog: told once, as
        ``late`` with both times (``edge`` when the gateway told it while cut off), and
        recorded as resolved at its end (SPEC §5, §12)."""
        alert.state = "resolved"
        alert.started_ms = alert.last_notified_ms = now_ms
        alert.resolved_ms = ended_ms
        self.metrics.alerts_fired.labels(alert.rule, alert.severity).inc()
        told = self._teller(alert, ended_ms, "late")
        batch.step(alert, (told, "resolved"), now_ms, rule.notify)

    def _teller(self, alert: Alert, end_ms: int | None, state: EventState) -> EventState:
        """The step that tells the alert: ``edge`` if its gateway told its alarm on its
        own while the condition held (by ``end_ms``; None: it still holds, and a gateway
        clock ahead of ours may have stamped it later), else ``state``; the alert records
        who told it first, and when the gateway did."""
        told_ms = self.store.edge_told(alert, end_ms) if alert.field else None
        if told_ms is None:
            alert.notified_by = "server"
            return state
        alert.notified_by, alert.edge_told_ms = "gateway", told_ms
        return "edge"

    def end(
        self,
        batch: Batch,
        alert: Alert,
        rule: RuleConfig,
        now_ms: int,
        note: str | None = None,
        ending: str | None = None,
    ) -> None:
        """The condition cleared (or the rule stopped applying): a pending alert is
        forgotten and nobody told, another resolved; either way it leaves the book."""
        if alert.state == "pending":
            alert.state = "resolved"
            batch.drop(alert, now_ms)
        else:
            self.resolve(batch, alert, rule, now_ms, note, ending)
        self.book.remove(alert)

    @staticmethod
    def _audience(alert: Alert, rule: RuleConfig | None) -> list[str]:
        if rule is None or alert.last_notified_ms is None:  # untold (once_per): stays so
            return []
        channels = list(rule.notify)
        if alert.escalated and rule.escalate:
            channels += [c for c in rule.escalate.notify if c not in channels]
        return channels
