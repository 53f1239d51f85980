"""A rules engine on a manual clock with its real SQLite store, fed directly."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from campuswatch.clock import now_ms
from campuswatch.protocol import DeviceInfo, FieldValue, Status
from campuswatch.protocol.readings import Reading
from ingest.config import IngestConfig
from ingest.metrics import Metrics
from ingest.outbox import Outbox
from ingest.registry import Registry
from ingest.rules.engine import RuleEngine
from ingest.rules.model import Alert
from ingest.rules.store import AlertStore
from tests.clock import ManualClock

SITE = "sunshine-kg"
TZ = ZoneInfo("Asia/Shanghai")
SCHOOL_HOURS = {"days": ["mon", "tue", "wed", "thu", "fri"], "from": "07:00", "to": "18:00"}


def at(text: str) -> float:
    """Epoch seconds of a local Shanghai time (2026-11-23 is a Monday)."""
    return datetime.fromisoformat(text).replace(tzinfo=TZ).timestamp()


class EngineHarness:
    """Owns the clock, registry, store and engine; can restart them on the same files."""

    def __init__(self, state_dir: Path, start: str, **sections: Any) -> None:
        doc: dict[str, Any] = {
            "site": {"id": SITE, "timezone": "Asia/Shanghai"},
            "state_dir": str(state_dir),
            "schedules": {"school_hours": SCHOOL_HOURS},
            "channels": {name: {"type": "log"} for name in ("patrol", "director", "canteen")},
        }
        doc.update(sections)
        self.config = IngestConfig.model_validate(doc)
        self.clock = ManualClock(at(start))
        self.metrics = Metrics()
        self.woken: set[str] = set()
        self._open()

    def _open(self) -> None:
        state_dir = self.config.state_dir
        self.registry = Registry(state_dir / "registry.json", self.clock)
        self.registry.load()
        self.store = AlertStore(state_dir / "alerts.db", SITE)
        self.store.open()
        self.outbox = Outbox(self.store)
        self.engine = RuleEngine(
            self.config,
            self.registry,
            self.store,
            self.outbox,
            self.metrics,
            self.clock,
            self.woken.update,
        )
        self.engine.load()

    def restart(self) -> None:
        """Stop (saving the registry) and start again on the same state files."""
        self.registry.save()
        self.store.close()
        self._open()

    def close(self) -> None:
        """Close the store."""
        self.store.close()

    @property
    def now_ms(self) -> int:
        """The harness clock in epoch ms."""
        return now_ms(self.clock)

    def meta(self, gateway: str, *devices: dict[str, Any]) -> None:
        """Announce a gateway's devices."""
        self.registry.update_meta(SITE, gateway, [DeviceInfo.model_validate(d) for d in devices])

    def read(
        self,
        device: str,
        kind: str,
        ts: int | None = None,
        gateway: str = "gw-main",
        **values: FieldValue,
    ) -> None:
        """Deliver one reading as the consumer would (registry first, then rules)."""
        readings = [Reading(device, kind, self.now_ms if ts is None else ts, values)]  # type: ignore[arg-type]
        self.envelope(readings, gateway)

    def envelope(self, readings: list[Reading], gateway: str = "gw-main") -> None:
        """Deliver one envelope of several readings (one input of the engine)."""
        self.registry.observe(SITE, gateway, readings)
        self.engine.on_readings(SITE, gateway, readings)

    def status(self, gateway: str, state: str) -> None:
        """Deliver a status message."""
        status = Status.model_validate({"state": state, "ts": self.now_ms})
        self.registry.update_status(SITE, gateway, status)
        self.engine.on_status(SITE, gateway, status)

    def advance(self, seconds: float) -> None:
        """Move time on and let the engine's timers run."""
        self.clock.advance(seconds)
        self.engine.tick()

    def notifications(self) -> list[dict[str, Any]]:
        """Every queued notification, oldest first, with its channel."""
        rows = self.store.db.execute("SELECT channel, body FROM outbox ORDER BY id").fetchall()
        return [{"channel": r["channel"], **orjson.loads(r["body"])} for r in rows]

    def sent(self, state: str | None = None) -> list[tuple[str, str]]:
        """(channel, state) of every queued notification, optionally only of one state."""
        return [
            (n["channel"], n["state"])
            for n in self.notifications()
            if state is None or n["state"] == state
        ]

    def alerts(self) -> list[Alert]:
        """All alerts, oldest first."""
        return list(reversed(self.store.alerts(active_only=False, limit=1000)))
