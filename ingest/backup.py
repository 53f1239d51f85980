"""``campus-ingest backup DIR`` and ``restore DIR``: the service's state and its readings.

A backup holds ``state_dir`` (the alert database with its outbox, the people, the duty
books, the snapshot index as consistent SQLite online backups; the snapshots, the
registry, the link key, the
report jobs' state and the spool as files) and, when InfluxDB's backup port is given, the
readings (``influxd backup -portable``). ``restore`` puts them back into a stopped service's
empty ``state_dir`` (``--force`` replaces a state that is there) and, with the port, into
an InfluxDB that does not have the database yet.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path

from ingest.config import IngestConfig
from ingest.errors import IngestError

SQLITE_FILES = ("alerts.db", "people.db", "duty.db", "snapshots/index.db")
_SKIP = {"alerts.db", "people.db", "duty.db", "index.db"}  # with their -wal/-shm files
MANIFEST = "campuswatch-backup.json"


class BackupError(IngestError):
    """A backup or restore cannot be made as asked."""


def backup(config: IngestConfig, target: Path, influx_rpc: str | None = None) -> list[str]:
    """Write a backup of ``config``'s state (and readings) into ``target``; what was saved."""
    state = config.state_dir
    if not state.is_dir():
        raise BackupError(f"{state} does not exist: nothing to back up")
    if target.exists() and any(target.iterdir()):
        raise BackupError(f"{target} is not empty: give a new folder for each backup")
    saved = []
    for name in SQLITE_FILES:
        source = state / name
        if source.exists():
            _sqlite_copy(source, target / "state" / name)
            saved.append(name)
    for path in sorted(state.rglob("*")):
        relative = path.relative_to(state)
        if path.is_file() and not _is_sqlite(path):
            (target / "state" / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target / "state" / relative)
            saved.append(str(relative))
    if influx_rpc:
        _influxd(
            "backup",
            "-portable",
            "-host",
            influx_rpc,
            "-db",
            config.influx.database,
            str(target / "influx"),
        )
        saved.append(f"influx database {config.influx.database}")
    manifest = {
        "made": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "site": config.site.id,
        "database": config.influx.database if influx_rpc else None,
    }
    (target / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2))
    return saved


def restore(
    config: IngestConfig, source: Path, influx_rpc: str | None = None, force: bool = False
) -> list[str]:
    """Put a backup back into ``config``'s (stopped) service; what was restored."""
    if not (source / MANIFEST).exists():
        raise BackupError(f"{source} is not a campuswatch backup (no {MANIFEST})")
    state = config.state_dir
    if state.exists() and any(state.iterdir()) and not force:
        raise BackupError(f"{state} is not empty: stop the service and give --force to replace it")
    if state.exists():
        shutil.rmtree(state)
    shutil.copytree(source / "state", state)
    state.chmod(0o700)
    restored = [str(p.relative_to(state)) for p in sorted(state.rglob("*")) if p.is_file()]
    if influx_rpc:
        if not (source / "influx").is_dir():
            raise BackupError(f"{source} holds no InfluxDB backup")
        database = json.loads((source / MANIFEST).read_text())["database"]
        _influxd(
            "restore",
            "-portable",
            "-host",
            influx_rpc,
            "-db",
            database,
            "-newdb",
            config.influx.database,
            str(source / "influx"),
        )
        restored.append(f"influx database {config.influx.database}")
    return restored


def _is_sqlite(path: Path) -> bool:
    return path.name.removesuffix("-wal").removesuffix("-shm") in _SKIP


def _sqlite_copy(source: Path, target: Path) -> None:
    """A consistent copy of a database in use (SQLite's online backup)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    sqlite3.connect(target).close()


def _influxd(*args: str) -> None:
    program = shutil.which("influxd") or shutil.which("influxd", path="/usr/bin:/usr/sbin")
    if program is None:
        raise BackupError(
            "influxd is not installed here: back up the readings on the database host"
        )
    done = subprocess.run([program, *args], capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise BackupError(f"influxd {args[0]} failed: {done.stderr.strip()[-500:]}")
