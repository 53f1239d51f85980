"""People acknowledging alerts: from the console, the API or an ack link (SPEC §5, §9).

The engine's one input that comes from people rather than from devices: checked here,
decided into the engine's batch like any other transition.
"""

from __future__ import annotations

from ingest.rules.alerts import AlertBook
from ingest.rules.errors import AckLinkUsed, AlertNotFound, check_ackable
from ingest.rules.lifecycle import Lifecycle
from ingest.rules.model import Alert, told_when_over
from ingest.rules.state import CompiledRule
from ingest.rules.store import AlertStore
from ingest.rules.transitions import Batch


class Acknowledgements:
    """Checks and decides acknowledgements; the engine's lock guards it."""

    def __init__(
        self,
        book: AlertBook,
        store: AlertStore,
        lifecycle: Lifecycle,
        rules: dict[str, CompiledRule],
    ) -> None:
        self.book = book
        self.store = store
        self.lifecycle = lifecycle
        self.rules = rules

    def ackable(self, alert_id: int, link_nonce: str | None) -> Alert:
        """The alert ``alert_id`` if it can be acknowledged now (through the ack link
        ``link_nonce``, if one), else AlertNotFound or AlertConflict saying why not."""
        if link_nonce is not None and self.store.ack_link_used(link_nonce):
            raise AckLinkUsed("this link has already been used", "used")
        return check_ackable(alert_id, self.book.by_id(alert_id) or self._told_late(alert_id))

    def decide(
        self,
        batch: Batch,
        alert: Alert,
        by: str,
        note: str,
        link_nonce: str | None,
        now: int,
    ) -> None:
        """``by`` acknowledges ``alert``; the link used works no more. A latched alert
        whose condition is over ends with its acknowledgement."""
        if link_nonce is not None:
            batch.links_used.append((link_nonce, alert.id, now))
        compiled = self.rules.get(alert.rule)
        rule = compiled.config if compiled else None
        self.lifecycle.acknowledge(batch, alert, rule, by, note, now)
        track = self.book.tracks.get(alert.key)
        active = self.book.alerts.get(alert.key) is alert  # not an alert told late
        if compiled and active and track and not track.holds:
            self.lifecycle.end(batch, alert, compiled.config, now)  # latched, and over

    def _told_late(self, alert_id: int) -> Alert | None:
        """A resolved alert told ``late`` and not yet acknowledged (its ack link works)."""
        stored = self.store.alert(alert_id)
        if stored is None:
            raise AlertNotFound(f"no alert with id {alert_id}")
        late = told_when_over(stored, self.store.events(alert_id))
        return stored if late and stored.acknowledged_by is None else None
