"""People acknowledging alerts: from the console, the API or an ack link (SPEC §5, §9).

A part of :class:`~ingest.rules.engine.RuleEngine` (its base class), kept apart because
it is the engine's one input that comes from people rather than from devices.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from campuswatch.clock import Clock, now_ms
from ingest.rules.errors import AckLinkUsed, AlertNotFound, check_ackable, clean_note
from ingest.rules.lifecycle import Lifecycle
from ingest.rules.model import Alert
from ingest.rules.state import CompiledRule, Track
from ingest.rules.store import AlertStore

AlertKey = tuple[str, str, str, str]  # (rule, site, gateway, device)


class Acknowledgements:
    """``acknowledge``; the engine provides the state below."""

    store: AlertStore
    clock: Clock
    lifecycle: Lifecycle
    _lock: threading.RLock
    _rules: dict[str, CompiledRule]
    _alerts: dict[AlertKey, Alert]
    _tracks: dict[AlertKey, Track]
    _run: Callable[[Callable[[], None]], None]
    _end: Callable[..., None]

    def acknowledge(
        self, alert_id: int, by: str, note: str, link_nonce: str | None = None
    ) -> Alert:
        """Acknowledge a firing alert on behalf of ``by``; ``link_nonce`` names the ack
        link used, which then works no more (recorded in the same transaction). A latched
        alert whose condition is over ends with its acknowledgement."""
        note = clean_note(note)
        with self._lock:
            if link_nonce is not None and self.store.ack_link_used(link_nonce):
                raise AckLinkUsed("this link has already been used", "used")
            alert = next((a for a in self._alerts.values() if a.id == alert_id), None)
            alert = check_ackable(alert_id, alert or self._told_late(alert_id))
            now = now_ms(self.clock)
            compiled = self._rules.get(alert.rule)
            rule = compiled.config if compiled else None

            def work() -> None:
                if link_nonce is not None:
                    self.store.use_ack_link(link_nonce, alert_id, now)
                self.lifecycle.acknowledge(alert, rule, by, note, now)
                key = (alert.rule, alert.site, alert.gateway, alert.device)
                track = self._tracks.get(key)
                if compiled and key in self._alerts and track is not None and not track.holds:
                    self._end(alert, compiled, now)  # latched, and over already

            self._run(work)
            return alert

    def _told_late(self, alert_id: int) -> Alert | None:
        """A resolved alert told ``late`` and not yet acknowledged (its ack link works)."""
        stored = self.store.alert(alert_id)
        if stored is None:
            raise AlertNotFound(f"no alert with id {alert_id}")
        late = any(e.state == "late" for e in self.store.events(alert_id))
        return stored if late and stored.acknowledged_by is None else None
