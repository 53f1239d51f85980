"""Gateway config and register maps: what `campus-gateway check` accepts and refuses."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from gateway.config import load_profile
from tests.gateway.harness import FIRMWARE, gateway_config, simulated

PROFILES = sorted(p.stem for p in (FIRMWARE / "modbus").glob("*.yaml"))


@pytest.mark.parametrize("name", PROFILES)
def test_shipped_register_maps_load_and_name_their_source(name: str) -> None:
    profile = load_profile(FIRMWARE / "modbus", name)
    assert len(profile.source) > 40
    assert profile.fields


def test_register_maps_for_the_issue_models_are_shipped() -> None:
    assert {
        "eastron-sdm120",
        "eastron-sdm630",
        "chint-ddsu666",
        "generic-pulse-water",
        "generic-rs485-temperature",
    } <= set(PROFILES)


def _check(tmp_path: Path, doc: dict[str, object]) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "gw.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", "check", "--config", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_check_accepts_a_valid_config(tmp_path: Path) -> None:
    result = _check(tmp_path, gateway_config(tmp_path, 1883, "campus", [simulated(3, 1.0)]))
    assert result.returncode == 0, result.stderr
    assert "ok (1 source(s), 3 device(s))" in result.stdout


def test_check_names_file_key_and_reason(tmp_path: Path) -> None:
    doc = gateway_config(tmp_path, 1883, "campus", [simulated(2, 1.0)])
    doc["uplink"]["prot"] = 1883
    doc["sources"][0]["devices"][1]["device"] = "sim-0"
    doc["sources"].append(
        {"type": "modbus_rtu", "port": "/dev/ttyUSB0", "devices": [
            {"device": "m1", "kind": "electricity", "unit": 1, "profile": "chint-ddsu666"}]}
    )  # fmt: skip
    result = _check(tmp_path, doc)
    assert result.returncode == 2
    path = tmp_path / "gw.yaml"
    assert f"{path}: uplink.prot: unknown key" in result.stderr
    doc["uplink"].pop("prot")
    result = _check(tmp_path, doc)
    assert f"{path}: sources[0].devices[1].device: 'sim-0' is used twice" in result.stderr
    assert f"{path}: sources[1].type: modbus_rtu sources are not supported" in result.stderr
