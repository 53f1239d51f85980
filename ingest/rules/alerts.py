"""The engine's alerts and condition tracks: the one active alert of each rule on each
device, and whether each rule's condition holds for each device, since when."""

from __future__ import annotations

from collections.abc import Iterable

from ingest.rules.model import Alert, AlertKey
from ingest.rules.state import Track
from ingest.rules.store import AlertStore


class AlertBook:
    """Alerts and tracks by (rule, site, gateway, device); not thread-safe (the engine's
    lock guards it). Changes are recorded by the engine's batches, never from here."""

    def __init__(self, rules: Iterable[str]) -> None:
        self._rules = frozenset(rules)
        self.alerts: dict[AlertKey, Alert] = {}
        self.tracks: dict[AlertKey, Track] = {}

    def load(self, store: AlertStore) -> list[Alert]:
        """Recover tracks and active alerts; returns the active alerts whose rule is no
        longer configured (the engine resolves them)."""
        for key, state in store.conditions().items():
            if key[0] in self._rules:
                self.tracks[key] = Track(state.holds, state.since_ms)
        orphans = []
        for alert in store.active_alerts():
            if alert.rule in self._rules:
                self.alerts[alert.key] = alert
            else:
                orphans.append(alert)
        return orphans

    def reload(self, store: AlertStore) -> None:
        """Take the store's word after a failed change (in-memory alerts may hold changes
        it never recorded), except for alerts only memory has (negative ids, kept while
        the disk was full)."""
        kept = {k: a for k, a in self.alerts.items() if a.id < 0}
        self.alerts = {a.key: a for a in store.active_alerts() if a.rule in self._rules}
        self.alerts.update(kept)

    def add(self, alert: Alert) -> None:
        """A new active alert."""
        self.alerts[alert.key] = alert

    def remove(self, alert: Alert) -> None:
        """An alert that ended (resolved or dropped)."""
        del self.alerts[alert.key]

    def by_id(self, alert_id: int) -> Alert | None:
        """The active alert with this id, if any."""
        return next((a for a in self.alerts.values() if a.id == alert_id), None)

    def changed(self, key: AlertKey, holds: bool, ts: int) -> Track:
        """A rule's condition for a device turned (or is first known) as of reading
        ``ts``: its new track. The engine records the change in its batch."""
        track = self.tracks[key] = Track(holds, ts)
        return track

    def forget(self, site: str, gateway: str, devices: set[str]) -> None:
        """Drop the tracks of devices a gateway no longer has."""
        for key in [k for k in self.tracks if k[1:3] == (site, gateway) and k[3] in devices]:
            del self.tracks[key]
