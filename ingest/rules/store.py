"""The alert database (SQLite in ``state_dir``): alerts, their history and condition
states, changed in the one transaction of :class:`StateDatabase` that also queues their
notifications in the outbox (``ingest/outbox``).
"""

from __future__ import annotations

import sqlite3
from dataclasses import astuple, dataclass, fields
from pathlib import Path
from typing import Any

import orjson

from campuswatch.protocol import EdgeTold
from campuswatch.sqlitefile import open_durable
from ingest.errors import IngestError
from ingest.outbox import queue
from ingest.rules.migrations import migrate_alerts, migrate_conditions, migrate_notified_by
from ingest.rules.model import ACTIVE_STATES, Alert, AlertEvent, AlertKey
from ingest.storage.statedb import StateDatabase

_CONDITIONS = """
CREATE TABLE IF NOT EXISTS conditions (
    rule TEXT NOT NULL, site TEXT NOT NULL, gateway TEXT NOT NULL, device TEXT NOT NULL,
    holds INTEGER NOT NULL, since_ms INTEGER NOT NULL,
    PRIMARY KEY (rule, site, gateway, device)
)
"""
_SCHEMA = (
    _CONDITIONS
    + """;

CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    rule TEXT NOT NULL, site TEXT NOT NULL, gateway TEXT NOT NULL, device TEXT NOT NULL,
    kind TEXT NOT NULL, severity TEXT NOT NULL, state TEXT NOT NULL, since_ms INTEGER NOT NULL,
    title TEXT NOT NULL, field TEXT, value REAL, tags TEXT NOT NULL, name TEXT,
    started_ms INTEGER, acknowledged_by TEXT, ack_note TEXT, acknowledged_ms INTEGER,
    resolved_ms INTEGER, last_notified_ms INTEGER, escalated INTEGER NOT NULL DEFAULT 0,
    snapshot TEXT, notified_by TEXT, edge_told_ms INTEGER
);
CREATE INDEX IF NOT EXISTS alerts_state ON alerts(state);
CREATE INDEX IF NOT EXISTS alerts_device ON alerts(site, gateway, device);
CREATE INDEX IF NOT EXISTS alerts_started ON alerts(started_ms);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id INTEGER NOT NULL, ts_ms INTEGER NOT NULL, state TEXT NOT NULL,
    actor TEXT, note TEXT, value REAL, exported INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS events_alert ON events(alert_id);
CREATE INDEX IF NOT EXISTS events_unexported ON events(exported) WHERE exported = 0;
CREATE TABLE IF NOT EXISTS ack_links_used (
    nonce TEXT PRIMARY KEY, alert_id INTEGER NOT NULL, used_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS edge_told (
    site TEXT NOT NULL, gateway TEXT NOT NULL, device TEXT NOT NULL, field TEXT NOT NULL,
    ts_ms INTEGER NOT NULL, told_ms INTEGER NOT NULL,
    PRIMARY KEY (site, gateway, device, field, ts_ms)
);
"""
)

_ALERT_COLUMNS = [f.name for f in fields(Alert)]
# Alerts of one rule and device that began by a time and ended after it.
_COVERING = (
    "SELECT 1 FROM alerts WHERE rule = ? AND site = ? AND gateway = ? AND device = ?"
    " AND since_ms <= ? AND (resolved_ms IS NULL OR resolved_ms >= ?)"
)


class AlertStoreError(IngestError):
    """The alert database could not be opened or written."""


@dataclass(frozen=True, slots=True)
class ConditionState:
    """Whether a rule's condition holds for a device, and since which reading's ``ts``."""

    holds: bool
    since_ms: int


def _alert_from_row(row: sqlite3.Row) -> Alert:
    values = {column: row[column] for column in _ALERT_COLUMNS}
    values["tags"] = orjson.loads(values["tags"])
    values["escalated"] = bool(values["escalated"])
    return Alert(**values)


class AlertStore(StateDatabase):
    """Thread-safe access to ``alerts.db``; writers group their changes in ``transaction()``."""

    closed_error = AlertStoreError
    what = "the alert database"

    def __init__(self, path: Path, site: str) -> None:
        self.path = path
        # The service's own site: condition states a store of an earlier version kept
        # without a site get the site of their gateway's alerts, else this one.
        self.site = site
        super().__init__()

    def open(self) -> None:
        """Open (creating if needed) the database in WAL mode with full fsync."""
        try:
            db = open_durable(self.path, "", rows=True)
            migrate_conditions(db, self.site, _CONDITIONS)
            migrate_alerts(db)
            migrate_notified_by(db)
            queue.migrate(db)
            db.executescript(_SCHEMA + queue.SCHEMA)
        except sqlite3.Error as exc:
            raise AlertStoreError(f"cannot open alert database {self.path}: {exc}") from exc
        self._db = db

    # ------------------------------------------------------------------ alerts

    def save_alert(self, alert: Alert) -> None:
        """Insert a new alert (setting its id) or update an existing one."""
        values = dict(zip(_ALERT_COLUMNS, astuple(alert), strict=True))
        values["tags"] = orjson.dumps(alert.tags).decode()
        values["escalated"] = int(alert.escalated)
        with self._lock:
            if alert.id > 0:  # a negative id: an alert kept in memory, written now
                assignments = ", ".join(f"{c} = :{c}" for c in _ALERT_COLUMNS if c != "id")
                self.writer().execute(f"UPDATE alerts SET {assignments} WHERE id = :id", values)  # noqa: S608
            else:
                del values["id"]
                columns = ", ".join(values)
                marks = ", ".join(f":{c}" for c in values)
                cursor = self.writer().execute(
                    f"INSERT INTO alerts ({columns}) VALUES ({marks})",  # noqa: S608
                    values,
                )
                alert.id = int(cursor.lastrowid or 0)

    def told_since(self, alert: Alert, since_ms: int) -> bool:
        """Whether another alert of ``alert``'s rule and device was told at or after
        ``since_ms`` (``once_per``)."""
        with self._lock:
            row = self.db.execute(
                "SELECT 1 FROM alerts WHERE rule = ? AND site = ? AND gateway = ? AND device = ?"
                " AND id != ? AND last_notified_ms >= ? LIMIT 1",
                (alert.rule, alert.site, alert.gateway, alert.device, alert.id, since_ms),
            ).fetchone()
        return row is not None

    def covered(self, key: AlertKey, ts_ms: int, besides: set[int] | None = None) -> bool:
        """Whether an alert of rule and device ``key`` (other than those with the ids in
        ``besides``) began by ``ts_ms`` and ended after."""
        others = sorted(besides or ())
        marks = ", ".join("?" for _ in others) or "0"  # placeholders only
        query = f"{_COVERING} AND id NOT IN ({marks}) LIMIT 1"
        with self._lock:
            row = self.db.execute(query, (*key, ts_ms, ts_ms, *others)).fetchone()
        return row is not None

    def delete_alert(self, alert_id: int) -> None:
        """Forget a pending alert whose condition cleared before it fired."""
        with self._lock:
            self.writer().execute("DELETE FROM alerts WHERE id = ?", (alert_id,))
            self.writer().execute("DELETE FROM events WHERE alert_id = ?", (alert_id,))

    def active_alerts(self) -> list[Alert]:
        """Alerts that are pending, firing or acknowledged."""
        marks = ", ".join("?" for _ in ACTIVE_STATES)
        with self._lock:
            rows = self.db.execute(
                f"SELECT * FROM alerts WHERE state IN ({marks}) ORDER BY id",  # noqa: S608
                ACTIVE_STATES,
            ).fetchall()
        return [_alert_from_row(r) for r in rows]

    def alerts(self, *, active_only: bool, limit: int) -> list[Alert]:
        """Alerts newest first."""
        query = "SELECT * FROM alerts"
        params: list[Any] = []
        if active_only:
            query += f" WHERE state IN ({', '.join('?' for _ in ACTIVE_STATES)})"
            params.extend(ACTIVE_STATES)
        with self._lock:
            rows = self.db.execute(f"{query} ORDER BY id DESC LIMIT ?", [*params, limit])
            return [_alert_from_row(r) for r in rows.fetchall()]

    def device_alerts(self, site: str, gateway: str, device: str, limit: int) -> list[Alert]:
        """A device's alerts, newest first."""
        with self._lock:
            rows = self.db.execute(
                "SELECT * FROM alerts WHERE site = ? AND gateway = ? AND device = ?"
                " ORDER BY id DESC LIMIT ?",
                (site, gateway, device, limit),
            ).fetchall()
        return [_alert_from_row(r) for r in rows]

    def fired_between(self, start_ms: int, end_ms: int, limit: int = -1) -> list[Alert]:
        """Alerts that fired in ``[start, end)``, oldest first (reports count them); with
        ``limit``, the newest ``limit`` of them."""
        with self._lock:
            rows = self.db.execute(
                "SELECT * FROM (SELECT * FROM alerts WHERE started_ms >= ? AND started_ms < ?"
                " ORDER BY id DESC LIMIT ?) ORDER BY id",
                (start_ms, end_ms, limit),
            ).fetchall()
        return [_alert_from_row(r) for r in rows]

    def alert(self, alert_id: int) -> Alert | None:
        """One alert by id."""
        with self._lock:
            row = self.db.execute("SELECT * FROM alerts WHERE id = ?", (alert_id,)).fetchone()
        return _alert_from_row(row) if row else None

    # ------------------------------------------------------------------ events

    def add_event(self, event: AlertEvent) -> None:
        """Append one step to an alert's history (exported to InfluxDB later)."""
        with self._lock:
            self.writer().execute(
                "INSERT INTO events (alert_id, ts_ms, state, actor, note, value)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (event.alert_id, event.ts_ms, event.state, event.actor, event.note, event.value),
            )

    def events(self, alert_id: int) -> list[AlertEvent]:
        """An alert's history, oldest first."""
        with self._lock:
            rows = self.db.execute(
                "SELECT alert_id, ts_ms, state, actor, note, value FROM events"
                " WHERE alert_id = ? ORDER BY id",
                (alert_id,),
            ).fetchall()
        return [AlertEvent(**dict(r)) for r in rows]

    def unexported_events(self, limit: int) -> list[tuple[int, Alert, AlertEvent]]:
        """Events not yet handed to the storage spool, with their alerts."""
        with self._lock:
            rows = self.db.execute(
                "SELECT e.id AS event_id, e.alert_id, e.ts_ms, e.state AS event_state, e.actor,"
                " e.note, e.value AS event_value, a.* FROM events e JOIN alerts a"
                " ON a.id = e.alert_id WHERE e.exported = 0 ORDER BY e.id LIMIT ?",
                (limit,),
            ).fetchall()
        return [
            (
                int(row["event_id"]),
                _alert_from_row(row),
                AlertEvent(
                    row["alert_id"],
                    row["ts_ms"],
                    row["event_state"],
                    row["actor"],
                    row["note"],
                    row["event_value"],
                ),
            )
            for row in rows
        ]

    def mark_exported(self, event_ids: list[int]) -> None:
        """Record that these events are in the storage spool."""
        with self._lock:
            self.db.executemany(
                "UPDATE events SET exported = 1 WHERE id = ?", [(i,) for i in event_ids]
            )

    # ------------------------------------------------------------------ conditions

    def save_condition(
        self, rule: str, site: str, gateway: str, device: str, state: ConditionState
    ) -> None:
        """Remember a condition change (so a hold survives a restart)."""
        with self._lock:
            self.writer().execute(
                "INSERT OR REPLACE INTO conditions"
                " (rule, site, gateway, device, holds, since_ms) VALUES (?, ?, ?, ?, ?, ?)",
                (rule, site, gateway, device, int(state.holds), state.since_ms),
            )

    def conditions(self) -> dict[tuple[str, str, str, str], ConditionState]:
        """Every remembered condition by (rule, site, gateway, device)."""
        with self._lock:
            rows = self.db.execute("SELECT * FROM conditions").fetchall()
        return {
            (r["rule"], r["site"], r["gateway"], r["device"]): ConditionState(
                bool(r["holds"]), r["since_ms"]
            )
            for r in rows
        }

    # ------------------------------------------------------------------ told by gateways

    def save_edge_told(self, site: str, told: EdgeTold) -> None:
        """Remember an alarm a gateway told on its own (once: it may come again)."""
        with self._lock:
            self.writer().execute(
                "INSERT OR IGNORE INTO edge_told VALUES (?, ?, ?, ?, ?, ?)",
                (site, told.gateway, told.device, told.field, told.ts, told.told_ts),
            )

    def edge_told(self, alert: Alert, end_ms: int | None) -> int | None:
        """When the gateway told an alarm of ``alert``'s device and field that turned on
        while its condition held (by ``end_ms``, if it is over), if it did."""
        with self._lock:
            row = self.db.execute(
                "SELECT min(told_ms) FROM edge_told WHERE site = ? AND gateway = ?"
                " AND device = ? AND field = ? AND ts_ms >= ? AND ts_ms <= ?",
                (
                    alert.site,
                    alert.gateway,
                    alert.device,
                    alert.field,
                    alert.since_ms,
                    end_ms if end_ms is not None else 2**63 - 1,
                ),
            ).fetchone()
        return None if row[0] is None else int(row[0])

    def forget_edge_told(self, before_ms: int) -> None:
        """Forget what gateways told before ``before_ms`` (their readings came long ago)."""
        with self.transaction():
            self.writer().execute("DELETE FROM edge_told WHERE told_ms < ?", (before_ms,))

    # ------------------------------------------------------------------ ack links

    def ack_link_used(self, nonce: str) -> bool:
        """True when the ack link with this nonce acknowledged its alert already."""
        with self._lock:
            row = self.db.execute("SELECT 1 FROM ack_links_used WHERE nonce = ?", (nonce,))
            return row.fetchone() is not None

    def use_ack_link(self, nonce: str, alert_id: int, now_ms: int) -> None:
        """Record that an ack link was used (inside the acknowledgement's transaction)."""
        with self._lock:
            self.writer().execute(
                "INSERT INTO ack_links_used VALUES (?, ?, ?)", (nonce, alert_id, now_ms)
            )
