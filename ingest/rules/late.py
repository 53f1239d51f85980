"""Readings that arrive after newer ones (a broker failover, a redelivery): a critical
condition only they show is told ``late``, never dropped (SPEC §5; issue 20).

A part of :class:`~ingest.rules.engine.RuleEngine` (its base class). The engine merges
a device's values in ``ts`` order, so an older reading changes no condition; but when it
shows a critical condition that held for the rule's ``for`` before the newer reading,
while the rule was active, and no recorded alert of the rule and device covers its time
(checked in ``alerts.db``, so neither a redelivery nor a restart tells it twice), the
alarm is recorded and told once as ``late``, ended at the newer reading's time.
"""

from __future__ import annotations

from dataclasses import replace

from campuswatch.protocol import Reading
from ingest.metrics import Metrics
from ingest.rules.lifecycle import Lifecycle
from ingest.rules.state import DeviceState, Track
from ingest.rules.store import AlertStore

AlertKey = tuple[str, str, str, str]  # (rule, site, gateway, device)


class LateReadings:
    """``_out_of_order``; the engine provides the state below."""

    store: AlertStore
    lifecycle: Lifecycle
    metrics: Metrics
    _tracks: dict[AlertKey, Track]
    _active_since: dict[str, object]

    def _out_of_order(self, dev: DeviceState, reading: Reading, ts: int, now: int) -> None:
        """A reading older than one seen of ``dev``: tell a critical condition in it that
        no alert covered, as ``late`` (began at its ``ts``, over by the newer reading's)."""
        assert dev.last_ts is not None
        values = {**dev.values, **reading.values}
        for rule in dev.condition_rules:
            if rule.config.severity != "critical" or rule.predicate is None:
                continue
            key = (rule.id, dev.site, dev.gateway, dev.device)
            track = self._tracks.get(key)
            if (track is not None and track.holds) or not rule.predicate(values):  # type: ignore[arg-type]
                continue  # an alarm is on already, or this reading shows none
            if not isinstance(self._active_since.get(rule.id), float):
                continue
            if dev.last_ts - ts < rule.hold_ms or self.store.covered(key, ts):
                continue
            alert = self.lifecycle.open(rule.config, replace(dev, values=values), ts, now)
            self.metrics.told_out_of_order.inc()
            self.lifecycle.late(alert, rule.config, dev.last_ts, now)
