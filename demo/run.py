"""``campus-ingest demo``: the whole system on this machine with a simulated campus.

Starts mosquitto and influxd (shipped configs, free ports), ``campus-ingest run`` and one
``campus-gateway run`` per building (gate house, canteen, main building) with simulated
sources, all as child processes under the demo directory; prints where to look and
stops everything on Ctrl-C.
"""

from __future__ import annotations

import secrets
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from types import FrameType
from zoneinfo import ZoneInfo

import httpx

from demo.grafana import start_grafana
from demo.history import write_history
from demo.inbox import Inbox
from demo.scenario import (
    DEMO_PEOPLE,
    HISTORY_WEEKS,
    SITE,
    TIMEZONE,
    gateway_config,
    write_ingest_config,
)
from demo.services import InfluxServer, MosquittoServer, ServiceError
from gateway.sources.simulated import sample_campus
from ingest.errors import StorageError
from ingest.storage.influx import InfluxClient

REPORTS = ("weekly-usage", "daily-readings", "cold-chain")


def _start_gateways(workdir: Path, broker: MosquittoServer) -> list[subprocess.Popen[bytes]]:
    """One ``campus-gateway run`` per building, logging to ``gateways/<id>.log``."""
    processes = []
    for seed, gateway in enumerate(sample_campus()):
        config = gateway_config(workdir, gateway, broker, seed)
        with config.with_suffix(".log").open("ab") as log:
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "gateway.cli", "run", "--config", str(config)],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # Ctrl-C is the demo's: it stops them in order
                )
            )
    return processes


def _stop_processes(processes: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM every process still running and wait for it (gateways publish "stopped")."""
    for proc in processes:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in processes:
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def _wait_for_api(api: str, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServiceError(f"campus-ingest exited with code {proc.returncode}")
        try:
            if httpx.get(api + "/api/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise ServiceError(f"campus-ingest did not answer on {api}")


def run_demo(workdir: Path, *, duration_s: float | None = None, api_port: int = 8000) -> int:
    """Run the demo until Ctrl-C (or ``duration_s``); returns an exit code."""
    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    broker = MosquittoServer(workdir / "mosquitto")
    influx = InfluxServer(workdir / "influxdb")
    token = secrets.token_urlsafe(16)
    api = f"http://127.0.0.1:{api_port}"
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    ingest: subprocess.Popen[bytes] | None = None
    gateways: list[subprocess.Popen[bytes]] = []
    inbox = Inbox()
    try:
        broker.start()
        influx.start()
        _seed_history(influx)
        inbox.start()
        config_path = write_ingest_config(workdir, broker, influx, api_port, token, inbox.url)
        logins = _add_people(config_path)
        with (workdir / "ingest.log").open("ab") as log:
            ingest = subprocess.Popen(
                [sys.executable, "-m", "ingest.cli", "run", "--config", str(config_path)],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _wait_for_api(api, ingest)
        _put_guard_on_duty(api, token)
        gateways = _start_gateways(workdir, broker)
        grafana, grafana_line = start_grafana(workdir, influx.url)
        if grafana is not None:
            gateways.append(grafana)  # stopped with them
        _print_banner(api, token, broker, influx, workdir, grafana_line, logins)
        _save_reports(api, token, influx, workdir / "reports")
        _report_until(stop, duration_s, influx, api, token)
    except ServiceError as exc:
        print(f"demo failed: {exc}", file=sys.stderr)
        return 1
    finally:
        print("stopping…", file=sys.stderr)
        _stop_processes(gateways)
        _stop_processes([ingest] if ingest is not None else [])
        influx.stop()
        broker.stop()
        inbox.stop()
    return 0


def _put_guard_on_duty(api: str, token: str) -> None:
    """The demo's guard on yesterday's night shift and today's two (the board says so)."""
    today = datetime.now(ZoneInfo(TIMEZONE)).date()
    shifts = [(today - timedelta(days=1), "night"), (today, "day"), (today, "night")]
    roster = [
        {"date": day.isoformat(), "shift": shift, "people": ["guard"]} for day, shift in shifts
    ]
    headers = {"Authorization": f"Bearer {token}"}
    httpx.put(f"{api}/api/duty/roster", json=roster, headers=headers, timeout=10).raise_for_status()


def _add_people(config: Path) -> list[tuple[str, str, str]]:
    """The demo's guard and admin, with fresh passwords: (login, name, password). A demo
    directory run before has them already: they get a fresh password instead."""
    logins = []
    for login, name, role in DEMO_PEOPLE:
        password = secrets.token_urlsafe(9)
        added = _users(config, password, "add", login, "--name", name, "--role", role)
        if added.returncode != 0 and "exists already" in added.stderr:
            added = _users(config, password, "passwd", login)
        if added.returncode != 0:
            raise ServiceError(f"cannot add the demo's {role}: {added.stderr.strip()}")
        logins.append((login, name, password))
    return logins


def _users(config: Path, password: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``campus-ingest users ARGS`` with ``password`` on standard input."""
    return subprocess.run(
        [sys.executable, "-m", "ingest.cli", "users", *args, "--config", str(config)],
        input=password + "\n",
        capture_output=True,
        text=True,
        check=False,
    )


def _seed_history(influx: InfluxServer) -> None:
    """Weeks of meter and fridge history, once per demo directory."""
    client = InfluxClient(influx.url, "campus")
    try:
        if _count(client, "electricity") == 0:
            points = write_history(client, SITE, TIMEZONE, HISTORY_WEEKS, time.time())
            print(f"wrote {points:,} points of simulated history ({HISTORY_WEEKS} weeks)")
    finally:
        client.close()


def _save_reports(api: str, token: str, influx: InfluxServer, folder: Path) -> None:
    """Once the service has built its hourly use buckets, save each report's HTML page."""
    client = InfluxClient(influx.url, "campus")
    headers = {"Authorization": f"Bearer {token}"}
    expected = {d.device for devices in sample_campus().values() for d in devices}

    def named() -> set[str]:  # devices whose gateway's meta has arrived
        answer = httpx.get(f"{api}/api/devices", headers=headers, timeout=10).json()
        return {d["device"] for d in answer if d["name"]}

    deadline = time.monotonic() + 90
    # The service builds the buckets day by day, electricity then water: done when water's
    # have reached the last hours of the seeded history.
    while time.monotonic() < deadline and (
        not _has_recent(client, "water_usage_1h") or not expected <= named()
    ):
        time.sleep(1)
    client.close()
    folder.mkdir(parents=True, exist_ok=True)
    for name in REPORTS:
        answer = httpx.get(
            f"{api}/api/reports/{name}", params={"format": "html"}, headers=headers, timeout=60
        )
        if answer.status_code == 200:
            (folder / f"{name}.html").write_text(answer.text)
            print(f"  report     {folder / name}.html")
        else:
            print(f"  report     {name}: HTTP {answer.status_code} {answer.text[:200]}")
    print(
        f"             (also JSON/CSV: curl -H 'Authorization: Bearer {token}'"
        f" '{api}/api/reports/weekly-usage?format=csv')",
        flush=True,
    )


def _print_banner(
    api: str,
    token: str,
    broker: MosquittoServer,
    influx: InfluxServer,
    workdir: Path,
    grafana: str,
    logins: list[tuple[str, str, str]],
) -> None:
    latest_snapshot = f"{api}/api/cameras/cam-gate/snapshots/latest"
    people = "\n".join(
        f"             login {login:<6} password {password}   ({name})"
        for login, name, password in logins
    )
    print(
        f"""
campuswatch demo is running (Ctrl-C stops it)
  console    {api}/   (open it on a phone or here; the board updates by itself)
{people}
             the patrol's notifications are printed below as NOTIFY, each with its ack
             link: open it to acknowledge the alert without logging in
  API        {api}/docs        token: {token}
  devices    curl -H 'Authorization: Bearer {token}' {api}/api/devices
  alerts     curl -H 'Authorization: Bearer {token}' {api}/api/alerts
             (scenario: room 101's back door is left open and the canteen fridge warms
              up; their alerts fire within a minute, on the console and as NOTIFY here;
              every 30 s someone walks past the gate camera: "门口有人", with a snapshot)
  snapshot   curl -H 'Authorization: Bearer {token}' -o gate.jpg {latest_snapshot}
  health     {api}/api/health      metrics (with the token): {api}/metrics
  MQTT       127.0.0.1:{broker.port}  (topic campus/{SITE}/+/readings)
  InfluxDB   {influx.url}  database "campus"
  Grafana    {grafana}
  gateways   {", ".join(sample_campus())}: campus-gateway processes with simulated
             sources, configs and logs in {workdir}/gateways/
  logs       {workdir}/ingest.log
""",
        flush=True,
    )


def _report_until(
    stop: threading.Event, duration_s: float | None, influx: InfluxServer, api: str, token: str
) -> None:
    client = InfluxClient(influx.url, "campus")
    started = time.monotonic()
    shown: set[tuple[int, str]] = set()
    try:
        while not stop.wait(5.0):
            points = sum(_count(client, m) for m in ("door", "temperature", "electricity"))
            devices = httpx.get(
                api + "/api/devices", timeout=5, headers={"Authorization": f"Bearer {token}"}
            ).json()
            online = sum(1 for d in devices if d["online"])
            print(f"  {points} points stored; {online}/{len(devices)} devices online", flush=True)
            alerts = httpx.get(
                api + "/api/alerts", timeout=5, headers={"Authorization": f"Bearer {token}"}
            ).json()
            for alert in alerts:
                if (alert["id"], alert["state"]) not in shown:
                    shown.add((alert["id"], alert["state"]))
                    where = alert["name"] or alert["device"]
                    print(f"  ALERT #{alert['id']} {alert['title']}: {where} ({alert['state']})")
            if duration_s is not None and time.monotonic() - started >= duration_s:
                return
    finally:
        client.close()


def _has_recent(client: InfluxClient, measurement: str, within_s: int = 3 * 3600) -> bool:
    """Whether ``measurement`` has a point in the last ``within_s`` seconds."""
    try:
        rows = client.query(
            f'SELECT count(*) FROM "{measurement}" WHERE time > now() - {within_s}s'
        )
    except StorageError:  # the database may not exist in the first seconds
        return False
    return bool(rows) and any(int(v) > 0 for k, v in rows[0].items() if k.startswith("count_"))


def _count(client: InfluxClient, measurement: str) -> int:
    try:
        rows = client.query(f'SELECT count(*) FROM "{measurement}"')
    except StorageError:  # the database may not exist in the first seconds
        return 0
    return (
        max((int(v) for k, v in rows[0].items() if k.startswith("count_")), default=0)
        if rows
        else 0
    )
