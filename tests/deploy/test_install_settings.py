"""The install's settings are data, never shell (issue 20, items 10 and 14): a campus
name with spaces, quotes and ``$(...)`` reaches the service's config unchanged and runs
nothing; the install script sources no settings file and puts no password on a command
line; the service's unit reads the settings file itself."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from campuswatch.configfile import load_env_file
from ingest.config import load_config

DEPLOY = Path(__file__).parents[2] / "deploy"
ENVFILE = DEPLOY / "server" / "envfile.py"
HOSTILE = """阳光幼儿园 东园区 "总园" 'A' $(touch {marker}) `touch {marker}` ${{HOME}} \\ end"""


def _envfile(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ENVFILE), *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_a_hostile_campus_name_is_just_text(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    name = HOSTILE.format(marker=marker)
    env = tmp_path / "ingest.env"
    made = _envfile(
        "make",
        str(env),
        "--site",
        "sunshine-kg",
        "--name",
        name,
        "--public-url",
        "https://watch.example-kg.cn:8443",
        "--tls-dir",
        str(tmp_path / "tls"),
    )
    assert made.returncode == 0, made.stderr
    assert env.stat().st_mode & 0o777 == 0o640
    assert _envfile("get", str(env), "CAMPUSWATCH_SITE_NAME").stdout == name + "\n"
    os.chown(env, 0, 65534)  # the install gives it to the service's group
    env.chmod(0o604)  # and whatever mode it had is kept too
    assert _envfile("set", str(env), "MQTT_PASSWORD", "s3cret").returncode == 0
    info = env.stat()
    assert (info.st_gid, info.st_mode & 0o777) == (65534, 0o604)  # still theirs to read
    tls = tmp_path / "tls"
    tls.mkdir()
    for part in ("ca.crt", "server.crt", "server.key"):
        (tls / part).write_text("")
    config = tmp_path / "ingest.yaml"
    config.write_text((DEPLOY / "server" / "ingest.yaml").read_text())
    checked = subprocess.run(
        [
            sys.executable,
            "-m",
            "ingest.cli",
            "check",
            "--config",
            str(config),
            "--env-file",
            str(env),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr
    saved = dict(os.environ)
    try:
        load_env_file(env)
        assert load_config(config).site.name == name
        assert os.environ["MQTT_PASSWORD"] == "s3cret"
    finally:
        os.environ.clear()
        os.environ.update(saved)
    assert not marker.exists()


@pytest.mark.parametrize("value", ["line\nbreak", "tab\tstop", "bidi\u2028", "rlo\u202e"])
def test_a_value_with_a_control_character_is_refused(tmp_path: Path, value: str) -> None:
    done = _envfile("set", str(tmp_path / "x.env"), "NAME", value)
    assert done.returncode == 2
    assert "control or invisible" in done.stderr
    assert not (tmp_path / "x.env").exists()


def test_the_install_script_sources_nothing_and_shows_no_password() -> None:
    script = (DEPLOY / "server" / "install.sh").read_text()
    code = "\n".join(line for line in script.splitlines() if not line.lstrip().startswith("#"))
    assert not re.search(r"(^|[;&|]\s*)(\.|source)\s", code, re.MULTILINE)
    assert not re.search(r"\s-password\b", code)  # influx's option: it shows in ps
    assert not re.search(r"-execute\b", code)
    assert "Environment=CAMPUSWATCH_INFLUX_PASSWORD" not in code  # systemctl show
    unit = (DEPLOY / "server" / "campus-ingest.service").read_text()
    assert "EnvironmentFile" not in unit
    assert unit.count("--env-file /etc/campuswatch/ingest.env") == 2


def test_the_installed_config_carries_every_safety_rule_of_the_example() -> None:
    """One source of truth: a campus installed with install.sh (or compose) gets the panic,
    leak, lock-check and every other rule the example has, and the official calendar."""
    example = yaml.safe_load(
        (DEPLOY.parent / "firmware_configs" / "ingest.example.yaml").read_text()
    )
    installed = yaml.safe_load((DEPLOY / "server" / "ingest.yaml").read_text())
    assert installed["rules"] == example["rules"]
    assert installed["lock_check"] == example["lock_check"]
    assert installed["duty"] == example["duty"]
    assert installed["calendar"]["official"] == example["calendar"]["official"] == "cn"
    assert installed["schedules"] == example["schedules"]
    assert set(example["channels"]) <= set(installed["channels"])  # every rule's audience
    assert {"panic", "water-leak", "smoke"} <= {rule["id"] for rule in installed["rules"]}


def test_the_users_command_the_install_prints_works_as_printed(tmp_path: Path) -> None:
    """The next steps install.sh prints, run as printed (the service's user aside): the
    settings come from --env-file, or from ingest.env beside the config without it."""
    etc = tmp_path / "etc"
    etc.mkdir()
    tls = tmp_path / "tls"
    tls.mkdir()
    for part in ("ca.crt", "server.crt", "server.key"):
        (tls / part).write_text("")
    made = _envfile(
        "make",
        str(etc / "ingest.env"),
        "--site",
        "sunshine-kg",
        "--name",
        "阳光幼儿园",
        "--public-url",
        "https://watch.example-kg.cn:8443",
        "--tls-dir",
        str(tls),
    )
    assert made.returncode == 0, made.stderr
    installed = (DEPLOY / "server" / "ingest.yaml").read_text()
    state = f"state_dir: {tmp_path / 'state'}"  # not the real /var/lib/campuswatch
    (etc / "ingest.yaml").write_text(installed.replace("state_dir: /var/lib/campuswatch", state))
    script = (DEPLOY / "server" / "install.sh").read_text()
    [printed] = [line.strip() for line in script.splitlines() if "$CLI users add" in line]
    cli = f"{sys.executable} -m ingest.cli"
    command = printed.removeprefix("runuser -u campuswatch -- ").replace("$CLI", cli)
    command = command.replace("$ETC", str(etc))
    added = subprocess.run(
        shlex.split(command),
        input="first admin pass\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert added.returncode == 0, added.stderr
    listed = subprocess.run(  # as docs/install.md writes it elsewhere: no --env-file
        [*shlex.split(cli), "users", "list", "--config", str(etc / "ingest.yaml")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr
    assert "管理员" in listed.stdout
