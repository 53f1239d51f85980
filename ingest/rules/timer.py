"""The rules engine's clock tick and the export of alert events to storage."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable

from campuswatch.backoff import Backoff
from campuswatch.worker import Worker
from ingest.config.places import Places
from ingest.config.schema import SiteConfig
from ingest.errors import IngestError
from ingest.rules.alert_text import render
from ingest.rules.engine import RuleEngine
from ingest.rules.store import AlertStore
from ingest.storage.lineprotocol import encode_point

log = logging.getLogger(__name__)

TICK_S = 0.5
_EXPORT_BATCH = 1000
# After these steps the alert waits for a person (dashboards show it as active); a
# pending alert has not been notified yet and may still be dropped silently.
_NEEDS_A_PERSON = frozenset({"firing", "repeat", "escalated", "acknowledged", "edge"})


class EventExporter:
    """Moves alert lifecycle events into the storage spool as ``alert_event`` points.

    Events are marked exported only after the spool has fsynced them, so an InfluxDB
    outage or a crash delays them but never loses them; a repeat export overwrites the
    same point (same series and time).
    """

    def __init__(
        self,
        store: AlertStore,
        append: Callable[[list[bytes]], None],
        site: SiteConfig,
        places: Places,
    ) -> None:
        self.store = store
        self.append = append
        self.places = places
        self.lang = site.language
        self.timezone = site.timezone

    def export(self) -> int:
        """Spool the waiting events; return how many."""
        rows = self.store.unexported_events(_EXPORT_BATCH)
        if not rows:
            return 0
        lines = []
        for _event_id, alert, event in rows:
            title, message = render(
                alert,
                event.state,
                self.lang,
                event.ts_ms,
                event.note,
                timezone=self.timezone,
                places=self.places,
            )
            tags = {
                "site": alert.site,
                "device": alert.device,
                "rule": alert.rule,
                "severity": alert.severity,
                "state": event.state,
            }
            fields: dict[str, str | float] = {
                "alert_id": str(alert.id),
                "title": title,
                "message": message,
                "active": 1.0 if event.state in _NEEDS_A_PERSON else 0.0,
            }
            if event.value is not None:
                fields["value"] = float(event.value)
            lines.append(encode_point("alert_event", tags, fields, event.ts_ms))
        self.append(["\n".join(lines).encode()])
        self.store.mark_exported([event_id for event_id, _alert, _event in rows])
        return len(rows)


class RulesTimer:
    """Ticks the engine and exports events about twice a second, on a worker thread."""

    def __init__(self, engine: RuleEngine, exporter: EventExporter) -> None:
        self.engine = engine
        self.exporter = exporter
        # A failing tick (a disk error in the alert database) is retried soon: alarms wait.
        self._worker = Worker("rules-timer", self._step, error_backoff=Backoff(0.5, 5.0))

    def start(self) -> None:
        """Start ticking."""
        self._worker.start()

    def age_s(self) -> float:
        """Seconds since the last tick ended (the watchdog's age of the rules engine)."""
        return self._worker.since_last_round()

    def stop(self) -> None:
        """Stop after the current tick, exporting what is left."""
        self._worker.stop()
        self._export()

    def _step(self) -> float:
        self.engine.tick()
        self._export()
        return TICK_S

    def _export(self) -> None:
        try:
            while self.exporter.export() == _EXPORT_BATCH:
                pass
        except (IngestError, OSError, sqlite3.Error) as exc:  # disk trouble: next tick
            log.error("cannot export alert events to the storage spool (will retry): %s", exc)
