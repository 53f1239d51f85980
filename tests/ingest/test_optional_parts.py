"""Nothing optional may stop an alarm (issue 20, item 2): with each optional part of a
notification broken in turn (the link key unreadable, replaced by garbage or too short,
the snapshot store gone, the wording failing) a smoke alarm is still recorded and told,
without the broken part, and health names the problem. And ``links rotate`` run by root
writes a key the service's user can read."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from ingest.app import IngestService
from ingest.config import IngestConfig
from ingest.outbox import Notification
from ingest.rules import alert_text
from ingest.rules.model import Alert
from ingest.web.app import create_api
from tests.harness import Publisher, envelope, reading, wait_for
from tests.receivers import HttpReceiver, http_receiver


@pytest.fixture
def robot() -> Iterator[HttpReceiver]:
    with http_receiver() as receiver:
        yield receiver


def _key_is_a_folder(service: IngestService) -> None:
    key = service.config.state_dir / "links.key"
    key.unlink()
    key.mkdir()


def _key_is_garbage(service: IngestService) -> None:
    (service.config.state_dir / "links.key").write_bytes(b"\xff\xfe not a key")


def _key_is_short(service: IngestService) -> None:
    (service.config.state_dir / "links.key").write_text("abcd")


def _snapshots_gone(service: IngestService) -> None:
    shutil.rmtree(service.config.state_dir / "snapshots")


def _wording_fails(service: IngestService) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> tuple[str, str]:
        raise KeyError("wording table damaged")

    alert_text.render = broken  # type: ignore[assignment]  # restored by the test


BREAKS: dict[str, tuple[Callable[[IngestService], None], str]] = {
    "key is a folder": (_key_is_a_folder, "links"),
    "key is garbage": (_key_is_garbage, "links"),
    "key is short": (_key_is_short, "links"),
    "snapshots gone": (_snapshots_gone, ""),
    "wording fails": (_wording_fails, "wording"),
}


@pytest.mark.parametrize("broken", list(BREAKS))
def test_a_smoke_alarm_arrives_whatever_optional_part_is_broken(
    config: dict[str, Any], publisher: Publisher, robot: HttpReceiver, broken: str
) -> None:
    config["channels"] = {"patrol": {"type": "webhook", "url": robot.url()}}
    config["rules"] = [
        {
            "id": "smoke",
            "kind": "smoke",
            "when": {"field": "smoke", "eq": True},
            "severity": "critical",
            "notify": ["patrol"],
        }
    ]
    service = IngestService(IngestConfig.model_validate(config))
    render = alert_text.render
    service.start()
    try:
        assert service.wait_ready()
        breaking, problem = BREAKS[broken]
        breaking(service)
        topic = f"{config['mqtt']['topic_root']}/sunshine-kg/gw-a/readings"
        alarm = [reading("smoke-1", "smoke", int(time.time() * 1000), smoke=True)]
        publisher.publish(topic, envelope("gw-a", 1, alarm))
        wait_for(lambda: len(robot.bodies()) == 1, 10)
        [body] = robot.bodies()
        assert (body["state"], body["device"]) == ("firing", "smoke-1")
        assert service.alert_store.active_alerts()[0].state == "firing"  # recorded too
        if problem:
            assert any(p.startswith(f"{problem}:") for p in service.health()["problems"])
        if problem == "links":
            assert body["ack_url"] is None
            login = TestClient(create_api(service)).get("/login")
            assert login.status_code == 200  # forms work on a key of the process meanwhile
    finally:
        alert_text.render = render
        service.stop()


def test_links_rotate_run_by_root_keeps_the_state_owner(config: dict[str, Any]) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root, as CI runs")
    top = Path(tempfile.mkdtemp(prefix="cw-state-"))  # pytest's folders are root's, 0700
    top.chmod(0o755)
    state = top / "state"
    config["state_dir"] = str(state)
    state.mkdir(mode=0o700)
    os.chown(state, 65534, 65534)  # the service's user (nobody here)
    path = top / "ingest.yaml"
    path.write_text(yaml.safe_dump(config))
    try:
        done = subprocess.run(
            [sys.executable, "-m", "ingest.cli", "links", "rotate", "--config", str(path)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        info = (state / "links.key").stat()
        assert (info.st_uid, info.st_gid, info.st_mode & 0o777) == (65534, 65534, 0o600)
    finally:
        shutil.rmtree(top)


def test_a_state_command_run_by_another_user_refuses_with_exit_2() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to run as another user")
    top = Path(tempfile.mkdtemp(prefix="cw-state-"))  # pytest's folders are root's, 0700
    top.chmod(0o755)
    state = top / "state"
    state.mkdir(mode=0o700)
    script = (
        "import os, sys; from pathlib import Path;"
        "from ingest.stateowner import WrongUser, become_state_owner;"
        "os.setuid(65534)\n"
        f"try: become_state_owner(Path({str(state)!r}))\n"
        "except WrongUser as exc: print(exc); sys.exit(2)"
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            cwd=Path(__file__).parents[2],
        )
    finally:
        shutil.rmtree(top)
    assert done.returncode == 2
    assert "belongs to root" in done.stdout
    assert "sudo -u root" in done.stdout


def test_a_camera_alarm_whose_snapshot_lookup_fails_keeps_its_ack_link(
    config: dict[str, Any],
) -> None:
    service = IngestService(IngestConfig.model_validate(config))
    service.start()
    try:

        def broken(*_args: Any) -> None:
            raise sqlite3.OperationalError("database disk image is malformed")

        service.snapshots.latest = broken  # type: ignore[method-assign]
        alert = Alert(
            "person-at-gate",
            "sunshine-kg",
            "gw-a",
            "cam-gate",
            "camera",
            "warning",
            "firing",
            0,
            title="门口有人",
            id=7,
        )
        plain = Notification({"state": "firing", "message": "门口有人"}, 7)
        decorate = service.engine.recorder.decorate
        assert decorate is not None
        told = decorate(alert, plain)
        assert told.body["ack_url"] is not None  # the snapshot failed, not the alarm's link
        assert "snapshot_url" not in told.body
        assert any(p.startswith("snapshot links:") for p in service.health()["problems"])
    finally:
        service.stop()
