"""Deployment files: the systemd units are valid and hardened, the compose file is valid
and mounts only files of this repository, the install script parses."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
UNITS = {
    "campus-gateway": DEPLOY / "gateway" / "campus-gateway.service",
    "campus-ingest": DEPLOY / "server" / "campus-ingest.service",
}
needs_systemd = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="needs systemd-analyze"
)


def _unit(name: str) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(UNITS[name].read_text())
    return parser["Service"]


@pytest.mark.parametrize("name", sorted(UNITS))
def test_units_restart_always_as_their_own_user_on_a_read_only_system(name: str) -> None:
    service = _unit(name)
    assert service["Restart"] == "always"
    assert service["RestartPreventExitStatus"] == "2"  # a config error does not loop
    assert service["User"] == "campuswatch"
    assert service["ProtectSystem"] == "strict"
    assert service["NoNewPrivileges"] == "yes"
    assert service["StateDirectory"] == "campuswatch"  # the only writable place
    assert service["CapabilityBoundingSet"] == ""
    assert "MemoryMax" in service
    program = name
    assert f"{program} run --config /etc/campuswatch/" in service["ExecStart"]


def _local(name: str, tmp_path: Path) -> Path:
    """The unit pointed at this checkout's program, so `verify` can check the commands."""
    program = Path(sys.executable).parent / name
    unit = tmp_path / f"{name}.service"
    unit.write_text(UNITS[name].read_text().replace(f"/opt/campuswatch/bin/{name}", str(program)))
    return unit


@needs_systemd
@pytest.mark.parametrize("name", sorted(UNITS))
def test_systemd_accepts_the_units(name: str, tmp_path: Path) -> None:
    result = subprocess.run(
        ["systemd-analyze", "verify", str(_local(name, tmp_path))],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr


@needs_systemd
def test_the_ingest_unit_is_well_confined(tmp_path: Path) -> None:
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", str(_local("campus-ingest", tmp_path))],
        capture_output=True,
        text=True,
        check=False,
    )
    line = next(ln for ln in result.stdout.splitlines() if "Overall exposure level" in ln)
    exposure = float(line.split(":")[1].split()[0])
    assert exposure <= 2.0, line


def _compose_env(tmp_path: Path) -> Path:
    env = tmp_path / "compose.env"
    lines = (DEPLOY / "compose.env.example").read_text().splitlines()
    env.write_text("\n".join(ln + "x" if ln.endswith("=") else ln for ln in lines) + "\n")
    return env


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="needs docker-compose")
def test_the_compose_file_is_valid_and_mounts_only_files_of_this_repository(
    tmp_path: Path,
) -> None:
    result = subprocess.run(
        [
            "docker-compose",
            "--env-file",
            str(_compose_env(tmp_path)),
            "-f",
            str(DEPLOY / "compose.yaml"),
            "config",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)
    named = set(resolved["volumes"])
    for name, service in resolved["services"].items():
        image = service.get("image", "")
        assert ":" in image, f"{name}: pin the image"
        assert not image.endswith(":latest"), f"{name}: pin the image"
        one_shot = "setup" in service.get("profiles", [])  # runs once and exits
        assert "healthcheck" in service or name == "ingest" or one_shot, f"{name}: no health check"
        for mount in service.get("volumes", []):
            source = mount.split(":")[0] if isinstance(mount, str) else mount["source"]
            if source in named:
                continue
            path = Path(source)
            assert path.exists(), f"{name} mounts {source}, which is not in the repository"
            assert DEPLOY.parent in path.resolve().parents, f"{name} mounts {source} from outside"
    dockerfile = (DEPLOY.parent / "Dockerfile").read_text()
    assert "HEALTHCHECK" in dockerfile  # the ingest's health check is its image's
    _check_who_holds_what(resolved)


def _check_who_holds_what(resolved: dict[str, Any]) -> None:
    """Issue 20, item 14: the web-facing ingest holds no CA key and no broker accounts,
    no secret is an environment variable, Grafana is not published beyond the host."""
    services = resolved["services"]
    ingest_mounts = [str(m) for m in services["ingest"].get("volumes", [])]
    assert not any("campus-ca" in m or "broker-accounts" in m for m in ingest_mounts)
    assert all(m.endswith(":ro") or "ingest-state" in m for m in ingest_mounts)
    for name, service in services.items():
        for key in service.get("environment", {}) or {}:
            assert not re.search(r"PASSWORD|TOKEN|SECRET", key) or key.endswith("__FILE"), (
                f"{name}: {key} is a secret in the environment"
            )
        if name != "setup":
            mounts = [str(m) for m in service.get("volumes", [])]
            assert not any("campus-ca" in m for m in mounts), f"{name} mounts the CA's key"
    for port in services["grafana"]["ports"]:
        assert str(port).startswith("127.0.0.1:") or port.get("host_ip") == "127.0.0.1"


def test_the_install_script_parses() -> None:
    script = DEPLOY / "server" / "install.sh"
    result = subprocess.run(
        ["bash", "-n", str(script)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
