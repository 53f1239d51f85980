"""Readings that arrive after newer ones (a broker failover, a redelivery): a critical
condition only they show is told ``late``, never dropped (SPEC §5; issue 20).

The engine merges a device's values in ``ts`` order, so an older reading changes no
condition; but when it shows a critical condition that held for the rule's ``for`` before
the newer reading, while the rule was active, and no recorded alert of the rule and device
covers its time (as the earlier steps of the same input left the alerts: their batch for
those it changed, ``alerts.db`` for the rest; so neither a redelivery nor a restart tells
it twice, and a pending alert the same input dropped covers nothing), the alarm is
recorded and told once as ``late``, ended at the newer reading's time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from campuswatch.protocol.readings import Reading
from ingest.metrics import Metrics
from ingest.rules.alerts import AlertBook
from ingest.rules.lifecycle import Lifecycle
from ingest.rules.state import WatchedDevice
from ingest.rules.store import AlertStore
from ingest.rules.transitions import Batch


class LateReadings:
    """Tells what an out-of-order reading shows; the engine's lock guards it."""

    def __init__(
        self,
        book: AlertBook,
        store: AlertStore,
        lifecycle: Lifecycle,
        metrics: Metrics,
        active: Callable[[str], bool],
    ) -> None:
        """``active``: whether a rule (by id) is in its active hours now."""
        self.book = book
        self.store = store
        self.lifecycle = lifecycle
        self.metrics = metrics
        self.active = active

    def check(self, batch: Batch, dev: WatchedDevice, reading: Reading, ts: int, now: int) -> None:
        """A reading older than one seen of ``dev``: tell a critical condition in it that
        no alert covered, as ``late`` (began at its ``ts``, over by the newer reading's)."""
        assert dev.last_ts is not None
        values = {**dev.values, **reading.values}
        for rule in dev.condition_rules:
            if rule.config.severity != "critical" or rule.predicate is None:
                continue
            key = (rule.id, dev.site, dev.gateway, dev.device)
            track = self.book.tracks.get(key)
            if (track is not None and track.holds) or not rule.predicate(values):
                continue  # an alarm is on already, or this reading shows none
            if not self.active(rule.id) or dev.last_ts - ts < rule.hold_ms:
                continue
            covered, changed = batch.covers(key, ts)
            if covered or self.store.covered(key, ts, besides=changed):
                continue
            late = self.lifecycle.open(batch, rule.config, replace(dev, values=values), ts, now)
            self.metrics.told_out_of_order.inc()
            self.lifecycle.late(batch, late, rule.config, dev.last_ts, now)
