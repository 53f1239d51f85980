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
    doc["sources"] += [
        {
            "type": "modbus_rtu",
            "port": "/dev/ttyUSB0",
            "poll": "5m",
            "devices": [
                {"device": "m1", "kind": "electricity", "unit": 1, "profile": "chint-ddsu666"},
                {
                    "device": "m2",
                    "kind": "water",
                    "unit": 2,
                    "profile": "chint-ddsu666",
                    "interval_s": 600,
                },
                {
                    "device": "m3",
                    "kind": "water",
                    "unit": 3,
                    "profile": "no-such-meter",
                    "interval_s": 600,
                },
            ],
        },
        {
            "type": "mqtt_json",
            "devices": [
                {"device": "t1", "kind": "temperature", "topic": "a/b", "field": "humidity"}
            ],
        },
    ]
    result = _check(tmp_path, doc)
    assert result.returncode == 2
    path = tmp_path / "gw.yaml"
    assert f"{path}: uplink.prot: unknown key" in result.stderr
    doc["uplink"].pop("prot")
    result = _check(tmp_path, doc)
    assert result.returncode == 2
    problems = result.stderr
    assert f"{path}: sources[0].devices[1].device: 'sim-0' is used twice" in problems
    assert (
        f"{path}: sources[1].devices[0].interval_s: 60 s is shorter than the source's poll"
        " (300 s)" in problems
    )
    assert (
        f"{path}: sources[1].devices[1].profile: chint-ddsu666 maps electricity devices,"
        " not water" in problems
    )
    assert f"{path}: sources[1].devices[2].profile: no-such-meter: " in problems
    assert "no-such-meter.yaml: cannot read the file" in problems
    assert (
        f"{path}: sources[2].devices[0].field: a temperature reading needs 'celsius'; this"
        " device supplies only 'humidity'" in problems
    )


def test_a_register_map_without_a_kind_is_checked_against_the_device(tmp_path: Path) -> None:
    maps = tmp_path / "maps"
    maps.mkdir()
    (maps / "odd.yaml").write_text(
        "model: odd meter\nsource: hand-made for this test\n"
        "fields: [{field: power_w, register: 0, datatype: float32}]\n"
    )
    doc = gateway_config(
        tmp_path,
        1883,
        "campus",
        [
            {
                "type": "modbus_rtu",
                "port": "/dev/ttyUSB0",
                "devices": [{"device": "m1", "kind": "electricity", "unit": 1, "profile": "odd"}],
            }
        ],
    )
    doc["modbus_profiles"] = str(maps)
    result = _check(tmp_path, doc)
    assert result.returncode == 2
    assert (
        "sources[0].devices[0].profile: odd: fields: a electricity reading needs"
        " 'energy_kwh', which this map does not read" in result.stderr
    )


def test_camera_settings_are_checked(tmp_path: Path) -> None:
    doc = gateway_config(tmp_path, 1883, "campus", [simulated(1, 1.0)])
    doc["sources"].append(
        {
            "type": "camera",
            "devices": [
                {
                    "device": "cam-gate",
                    "url": "rtsp://192.168.1.64/stream2",
                    "fps": 0,
                    "mask": [[[0, 0], [200, 0]]],
                },
                {"device": "cam/back", "url": 0, "kind": "door"},
                {"device": "cam-yard"},
            ],
        }
    )
    result = _check(tmp_path, doc)
    assert result.returncode == 2
    path = tmp_path / "gw.yaml"
    for problem in (
        "sources[1].devices[0].fps: Input should be greater than 0",
        "sources[1].devices[0].mask[0]: List should have at least 3 items",
        "sources[1].devices[1].kind: Input should be 'camera'",
        "sources[1].devices[2].url: Field required",
    ):
        assert f"{path}: {problem}" in result.stderr, result.stderr
    doc["sources"][1]["devices"] = [{"device": "cam/back", "url": 0}]
    result = _check(tmp_path, doc)
    assert f"{path}: sources[1].devices[0].device: a camera's id goes into" in result.stderr


def test_edge_settings_are_checked(tmp_path: Path) -> None:
    doc = gateway_config(tmp_path, 1883, "campus", [simulated(1, 1.0)])
    doc["edge"] = {
        "after": "30s",
        "kinds": ["smoke", "door"],
        "channels": {"guard-room": {"type": "wecom", "url": "not a url"}},
        "siren": {"topic": "zigbee2mqtt/siren/#"},
    }
    result = _check(tmp_path, doc)
    assert result.returncode == 2
    for problem in ("edge.kinds[1]", "edge.channels.guard-room.url", "edge.siren.topic"):
        assert problem in result.stderr, result.stderr
    doc["edge"] = {
        "channels": {"guard-room": {"type": "webhook", "url": "http://192.0.2.10/hook"}},
        "siren": {"topic": "zigbee2mqtt/siren-gate/set", "payload": '{"warning": {}}'},
    }
    assert _check(tmp_path, doc).returncode == 0


def test_uplink_hosts_are_checked(tmp_path: Path) -> None:
    doc = gateway_config(tmp_path, 1883, "campus", [simulated(1, 1.0)])
    doc["uplink"]["hosts"] = ["nats-1:1883", "nats-2", "[::1]:70000", "nats-3:1883 "]
    result = _check(tmp_path, doc)
    assert result.returncode == 2
    path = tmp_path / "gw.yaml"
    for problem in (
        "uplink.hosts[1]: 'nats-2' is not HOST:PORT",
        "uplink.hosts[2]: port 70000 of '[::1]:70000' is not between 1 and 65535",
        "uplink.hosts[3]: 'nats-3:1883 ' is not HOST:PORT",
    ):
        assert f"{path}: {problem}" in result.stderr, result.stderr
    doc["uplink"]["hosts"] = ["nats-1:1883", "[fd00::3]:1883"]
    result = _check(tmp_path, doc)  # host and port given too
    assert result.returncode == 2
    assert "uplink: give hosts, or host and port; not both" in result.stderr
    del doc["uplink"]["host"], doc["uplink"]["port"]
    assert _check(tmp_path, doc).returncode == 0
    del doc["uplink"]["hosts"]
    result = _check(tmp_path, doc)
    assert "uplink: no broker: give host (and port) or hosts" in result.stderr
