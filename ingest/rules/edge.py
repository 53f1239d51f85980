"""Alarms a gateway told on its own while cut off from the server (SPEC §12), as the rules
engine records them: kept in ``alerts.db`` (so the alert their readings raise is told as
``edge``, see ``Lifecycle._teller``), and noted on an alert already told when its readings
came first (a link that failed just after they left, or a record delayed): its history
gets an ``edge`` step and nobody is told again."""

from __future__ import annotations

from campuswatch.protocol import EdgeTold
from ingest.rules.alerts import AlertBook
from ingest.rules.store import AlertStore
from ingest.rules.transitions import Batch

KEPT_MS = 30 * 86_400_000  # longer than a gateway's buffer holds readings
PRUNE_EVERY_MS = 3_600_000


class EdgeRecords:
    """Records what gateways told; the engine's lock guards it."""

    def __init__(self, book: AlertBook, store: AlertStore) -> None:
        self.book = book
        self.store = store
        self._pruned_ms = 0

    def prune(self, now_ms: int) -> None:
        """Forget records older than ``KEPT_MS`` (at most once an hour)."""
        if now_ms - self._pruned_ms >= PRUNE_EVERY_MS:
            self.store.forget_edge_told(now_ms - KEPT_MS)
            self._pruned_ms = now_ms

    def record(self, batch: Batch, site: str, gateway: str, told: EdgeTold, now_ms: int) -> None:
        """Keep ``told``; an active alert of its device already told by the server notes
        that the gateway told it too."""
        batch.edge_told.append((site, told))
        for alert in self.book.alerts.values():
            if (
                (alert.site, alert.gateway, alert.device, alert.field)
                == (site, gateway, told.device, told.field)
                and alert.started_ms is not None
                and alert.edge_told_ms is None
                and alert.since_ms <= told.ts
            ):
                alert.edge_told_ms = told.told_ts
                if told.told_ts < alert.started_ms:
                    alert.notified_by = "gateway"
                batch.step(alert, ("edge",), now_ms)  # recorded; told to nobody again
