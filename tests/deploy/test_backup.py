"""``campus-ingest backup`` and ``restore``: a round trip of a running service's state and
its readings (SQLite online backups and ``influxd backup -portable``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import yaml

from demo.services import InfluxServer, MosquittoServer
from ingest.storage.influx import InfluxClient
from tests.harness import (
    BASE_TS,
    SMOKE_RULE,
    IngestProcess,
    Publisher,
    config_dict,
    count_points,
    envelope,
    reading,
    wait_for,
)
from tests.ingest.web.console.web import log_in

ADMIN = {"Authorization": "Bearer admin-token-1"}
GUARD = {"Authorization": "Bearer guard-token-1"}


def _cli(config: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ingest.cli", *args, "--config", str(config)],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_backup_brings_back_people_alerts_and_readings(
    tmp_path: Path, broker: MosquittoServer, influxd: InfluxServer, publisher: Publisher
) -> None:
    config: dict[str, Any] = config_dict(tmp_path / "state", broker, influxd)
    config["channels"] = {"patrol": {"type": "log"}}
    config["rules"] = [SMOKE_RULE]
    config["duty"] = {"shifts": {"night": {"from": "19:00", "to": "07:00"}}}
    ingest = IngestProcess(config, tmp_path)
    added = _cli(
        ingest.config_path,
        "users",
        "add",
        "zhang",
        "--name",
        "张师傅",
        "--role",
        "guard",
        stdin="guard password 1\n",
    )
    assert added.returncode == 0, added.stderr
    ingest.start()
    root = config["mqtt"]["topic_root"]
    readings = [reading(f"fridge-{i}", "temperature", BASE_TS + i, celsius=4.0) for i in range(30)]
    readings.append(reading("smoke-1", "smoke", BASE_TS + 100, smoke=True))
    publisher.publish(f"{root}/sunshine-kg/gw-main/readings", envelope("gw-main", 1, readings))
    db = InfluxClient(influxd.url, config["influx"]["database"])
    wait_for(lambda: count_points(db, "temperature", "celsius") == 30, 20)
    wait_for(lambda: httpx.get(f"{ingest.api}/api/alerts", headers=GUARD).json(), 10)
    night = {"date": "2026-12-07", "shift": "night", "people": ["zhang"]}
    put = httpx.put(f"{ingest.api}/api/duty/roster", json=[night], headers=ADMIN)
    assert put.status_code == 200, put.text
    state = tmp_path / "state"
    assert state.stat().st_mode & 0o777 == 0o700
    exposed = [p for p in state.rglob("*") if p.is_file() and p.stat().st_mode & 0o077]
    assert exposed == [], "state files are for the service's user only"
    rpc = f"127.0.0.1:{influxd.rpc_port}"
    saved = _cli(ingest.config_path, "backup", str(tmp_path / "backup"), "--influx-rpc", rpc)
    assert saved.returncode == 0, saved.stderr
    ingest.stop()
    # The service's machine is lost: no state, no database.
    assert _cli(ingest.config_path, "restore", str(tmp_path / "backup")).returncode == 1
    influxd.query(f'DROP DATABASE "{config["influx"]["database"]}"')
    restored = _cli(
        ingest.config_path, "restore", str(tmp_path / "backup"), "--influx-rpc", rpc, "--force"
    )
    assert restored.returncode == 0, restored.stderr
    assert (tmp_path / "state").stat().st_mode & 0o777 == 0o700
    ingest.start()
    try:
        alerts = httpx.get(f"{ingest.api}/api/alerts", headers=GUARD).json()
        assert [a["rule"] for a in alerts] == ["smoke"]
        with httpx.Client(base_url=ingest.api) as browser:
            assert log_in(browser, "zhang", "guard password 1").status_code == 303
        assert count_points(db, "temperature", "celsius") == 30
        days = {"from": "2026-12-07", "to": "2026-12-07"}
        kept = httpx.get(f"{ingest.api}/api/duty/roster", params=days, headers=GUARD).json()
        assert kept == [night]  # the duty books came back
    finally:
        ingest.stop()
        db.close()
    assert yaml.safe_load(ingest.config_path.read_text())["site"]["id"] == "sunshine-kg"
