"""Upgrades of an ``alerts.db`` made by an earlier version, run when it is opened."""

from __future__ import annotations

import logging
import sqlite3

from campuswatch.sqlitefile import transaction

log = logging.getLogger(__name__)


def migrate_conditions(db: sqlite3.Connection, site: str, schema: str) -> None:
    """Key the condition states of a store made before version 2 by site, in place."""
    columns = [row[1] for row in db.execute("PRAGMA table_info(conditions)")]
    if not columns or "site" in columns:
        return
    log.warning("alert database: keying remembered conditions by site (one-time upgrade)")
    with transaction(db):
        db.execute("ALTER TABLE conditions RENAME TO conditions_v1")
        db.execute(schema)
        db.execute(
            "INSERT INTO conditions (rule, site, gateway, device, holds, since_ms)"
            " SELECT c.rule, COALESCE((SELECT a.site FROM alerts a WHERE a.gateway = c.gateway"
            " ORDER BY a.id DESC LIMIT 1), ?), c.gateway, c.device, c.holds, c.since_ms"
            " FROM conditions_v1 c",
            (site,),
        )
        db.execute("DROP TABLE conditions_v1")


def migrate_alerts(db: sqlite3.Connection) -> None:
    """Give the alerts of a store made before version 4 the snapshot they named: a camera
    alert's is the one its newest notification in the outbox carried."""
    columns = [row[1] for row in db.execute("PRAGMA table_info(alerts)")]
    if not columns or "snapshot" in columns:
        return
    log.warning("alert database: recording each camera alert's snapshot (one-time upgrade)")
    has_outbox = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'outbox'").fetchone()
    with transaction(db):
        db.execute("ALTER TABLE alerts ADD COLUMN snapshot TEXT")
        if has_outbox:
            db.execute(
                "UPDATE alerts SET snapshot = (SELECT json_extract(o.body, '$.snapshot')"
                " FROM outbox o WHERE o.alert_id = alerts.id"
                " AND json_extract(o.body, '$.snapshot') IS NOT NULL ORDER BY o.id DESC LIMIT 1)"
                " WHERE kind = 'camera'"
            )


def migrate_notified_by(db: sqlite3.Connection) -> None:
    """Give the alerts of a store made before version 5 who told them (SPEC §12): the
    server, for those it told."""
    columns = [row[1] for row in db.execute("PRAGMA table_info(alerts)")]
    if not columns or "notified_by" in columns:
        return
    log.warning("alert database: recording who told each alert (one-time upgrade)")
    with transaction(db):
        db.execute("ALTER TABLE alerts ADD COLUMN notified_by TEXT")
        db.execute("ALTER TABLE alerts ADD COLUMN edge_told_ms INTEGER")
        db.execute("UPDATE alerts SET notified_by = 'server' WHERE started_ms IS NOT NULL")
