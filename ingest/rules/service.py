"""What people do with alerts, whichever door they come through (the API, the console, an
ack link): read them with their history, and acknowledge them."""

from __future__ import annotations

from campuswatch.signal import Signal
from ingest.rules.engine import RuleEngine
from ingest.rules.errors import AlertForbidden
from ingest.rules.model import Alert, AlertEvent, told_when_over
from ingest.rules.store import AlertStore


class AlertService:
    """Reads alerts from the store; acknowledgements go through the engine (which owns
    the alerts' state). Raises AlertNotFound and AlertConflict (``rules.errors``)."""

    def __init__(self, store: AlertStore, engine: RuleEngine) -> None:
        self._store = store
        self._engine = engine

    def alerts(self, *, active_only: bool, limit: int) -> list[Alert]:
        """Alerts newest first: only the active ones (pending, firing, acknowledged), or all."""
        return self._store.alerts(active_only=active_only, limit=limit)

    def active(self) -> list[Alert]:
        """Alerts that are pending, firing or acknowledged, oldest first."""
        return self._store.active_alerts()

    @property
    def changed(self) -> Signal[[]]:
        """Emitted after a commit that changed an alert (the live board listens)."""
        return self._engine.alerts_changed

    def of_device(self, site: str, gateway: str, device: str, limit: int = 20) -> list[Alert]:
        """A device's alerts, newest first."""
        return self._store.device_alerts(site, gateway, device, limit)

    def fired_between(self, start_ms: int, end_ms: int, limit: int = -1) -> list[Alert]:
        """Alerts that fired in ``[start, end)``, oldest first (the newest ``limit``)."""
        return self._store.fired_between(start_ms, end_ms, limit)

    def alert(self, alert_id: int) -> Alert | None:
        """One alert, or None."""
        return self._store.alert(alert_id)

    def events(self, alert_id: int) -> list[AlertEvent]:
        """An alert's history, oldest first."""
        return self._store.events(alert_id)

    def waits_for_ack(self, alert: Alert) -> bool:
        """Whether ``alert`` can be acknowledged now: firing, or told late and not yet
        acknowledged (it is over, but someone should take note)."""
        if alert.state == "firing":
            return True
        if alert.state != "resolved" or alert.acknowledged_by is not None:
            return False
        return told_when_over(alert, self._store.events(alert.id))

    def link_used(self, nonce: str) -> bool:
        """Whether the ack link with this nonce acknowledged its alert already."""
        return self._store.ack_link_used(nonce)

    def acknowledge(
        self,
        alert_id: int,
        by: str,
        note: str,
        link_nonce: str | None = None,
        areas: tuple[str, ...] = (),
    ) -> Alert:
        """Acknowledge a firing alert on behalf of ``by`` (``link_nonce``: through that
        ack link, which then works no more). A person limited to ``areas`` acknowledges
        alerts of devices there only: AlertForbidden otherwise, and nothing changes."""
        if areas:
            alert = self._store.alert(alert_id)
            if alert is not None and alert.tags.get("building") not in areas:
                raise AlertForbidden(f"alert {alert_id} is outside your areas ({', '.join(areas)})")
        return self._engine.acknowledge(alert_id, by, note, link_nonce)
