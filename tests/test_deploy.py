"""Deployment files: the gateway's systemd unit is valid and hardened."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parents[1] / "deploy" / "gateway" / "campus-gateway.service"


def _unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(UNIT.read_text())
    return parser


def test_gateway_unit_restarts_always_as_its_own_user_on_a_read_only_system() -> None:
    service = _unit()["Service"]
    assert service["Restart"] == "always"
    assert service["User"] == "campuswatch"
    assert service["ProtectSystem"] == "strict"
    assert service["NoNewPrivileges"] == "yes"
    assert service["StateDirectory"] == "campuswatch"  # the only writable place: the buffer
    assert service["CapabilityBoundingSet"] == ""
    assert "campus-gateway run --config /etc/campuswatch/gateway.yaml" in service["ExecStart"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_systemd_accepts_the_gateway_unit(tmp_path: Path) -> None:
    # Point the unit at this checkout's campus-gateway so `verify` can check the commands.
    program = Path(sys.executable).parent / "campus-gateway"
    unit = tmp_path / "campus-gateway.service"
    unit.write_text(UNIT.read_text().replace("/opt/campuswatch/bin/campus-gateway", str(program)))
    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr
