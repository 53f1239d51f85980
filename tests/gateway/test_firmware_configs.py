"""The shipped device-side configs: every gateway config passes `campus-gateway check`, and
the ESPHome and Zigbee2MQTT examples publish exactly the topics the gateway configs read."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.config import MqttJsonSourceConfig, Zigbee2MqttSourceConfig, load_gateway_config
from tests.gateway.harness import FIRMWARE

GATEWAYS = sorted((FIRMWARE / "gateways").glob("*.yaml"))


class _DeviceYamlLoader(yaml.SafeLoader):
    """Reads ESPHome's ``!secret`` tags as plain strings."""


_DeviceYamlLoader.add_constructor("!secret", lambda loader, node: f"secret:{node.value}")


def _load(path: Path) -> Any:
    return yaml.load(path.read_text(), Loader=_DeviceYamlLoader)


def test_a_campus_layout_is_shipped() -> None:
    assert {p.stem for p in GATEWAYS} >= {"gw-gate", "gw-canteen", "gw-meter-room"}


@pytest.mark.parametrize("path", GATEWAYS, ids=lambda p: p.stem)
def test_gateway_config_passes_check(path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "check", "--config", str(path)],
        capture_output=True,
        text=True,
        env={**os.environ, "MQTT_PASSWORD": "example", "CAMERA_PASSWORD": "example"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "ok (" in result.stdout


@pytest.mark.parametrize("path", GATEWAYS, ids=lambda p: p.stem)
def test_the_readme_install_steps_check_each_example_alone(path: Path, tmp_path: Path) -> None:
    """As the installer's guide's gateway install does: the example copied alone (no register-map
    folder beside it: the shipped maps are found by name), its passwords in the env file
    the systemd unit reads, ``check --env-file``."""
    config = tmp_path / "gateway.yaml"
    config.write_text(path.read_text())
    env_file = tmp_path / "gateway.env"
    env_file.write_text(
        '# from campus-ingest broker add-gateway\nMQTT_PASSWORD=s3cret\nCAMERA_PASSWORD="cam era"\n'
    )
    env = {k: v for k, v in os.environ.items() if k not in ("MQTT_PASSWORD", "CAMERA_PASSWORD")}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "gateway.cli",
            "check",
            "--config",
            str(config),
            "--env-file",
            str(env_file),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    env_file.write_text("MQTT_PASSWORD s3cret\n")
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "gateway.cli",
            "check",
            "--config",
            str(config),
            "--env-file",
            str(env_file),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert bad.returncode == 2
    assert f"{env_file}:1: expected KEY=VALUE" in bad.stderr


def _local_topics() -> tuple[set[str], set[str]]:
    """mqtt_json topics and Zigbee friendly names read by the shipped gateway configs."""
    os.environ.setdefault("MQTT_PASSWORD", "example")
    os.environ.setdefault("CAMERA_PASSWORD", "example")
    topics: set[str] = set()
    names: set[str] = set()
    for path in GATEWAYS:
        config, _profiles = load_gateway_config(path)
        for source in config.sources:
            if isinstance(source, MqttJsonSourceConfig):
                topics |= {d.topic for d in source.devices}
            if isinstance(source, Zigbee2MqttSourceConfig):
                names |= {d.friendly_name for d in source.devices}
    return topics, names


def test_esphome_nodes_publish_the_topics_the_gateway_reads() -> None:
    topics, _names = _local_topics()
    node = _load(FIRMWARE / "esphome" / "fridge-probe.yaml")
    prefix = node["mqtt"]["topic_prefix"]
    published = {f"{prefix}/sensor/{s['name']}/state" for s in node["sensor"]}
    published |= {f"{prefix}/binary_sensor/{s['name']}/state" for s in node["binary_sensor"]}
    assert {t for t in topics if t.startswith(f"{prefix}/")} == published
    door = _load(FIRMWARE / "esphome" / "door-node.yaml")
    assert door["binary_sensor"][0]["device_class"] == "door"


@pytest.mark.parametrize("name", ["door-node", "fridge-probe"])
def test_esphome_contacts_read_open_as_on_and_really_repeat(name: str) -> None:
    node = _load(FIRMWARE / "esphome" / f"{name}.yaml")
    beats = {
        b["then"][0]["if"]["condition"]["binary_sensor.is_on"]: b["then"][0]["if"]
        for b in node["interval"]
    }
    for sensor in node["binary_sensor"]:
        topic = f"{node['mqtt']['topic_prefix']}/binary_sensor/{sensor['name']}/state"
        # Pull-up, reed switch to GND: an open door leaves the pin HIGH, which must be ON
        # (a leak probe is the other way round: water pulls the pin LOW).
        assert sensor["pin"]["mode"] == "INPUT_PULLUP"
        door = sensor["device_class"] == "door"
        assert sensor["pin"].get("inverted", False) is not door
        # The heartbeat publishes to the state topic itself (publish_state of an unchanged
        # value is dropped by ESPHome), ON when on and OFF when off.
        branch = beats[sensor["id"]]
        assert branch["then"][0]["mqtt.publish"] == {"topic": topic, "payload": "ON"}
        assert branch["else"][0]["mqtt.publish"] == {"topic": topic, "payload": "OFF"}
    assert node["esphome"]["min_version"] >= "2024.6.0"


def test_zigbee2mqtt_example_names_every_zigbee_device_of_the_gateway_configs() -> None:
    _topics, names = _local_topics()
    z2m = _load(FIRMWARE / "zigbee2mqtt" / "configuration.yaml")
    assert z2m["availability"]["enabled"] is True
    assert z2m["version"] == 4  # Zigbee2MQTT 2.x's configuration format
    assert "permit_join" not in z2m  # 2.x no longer reads it; pairing stays off
    assert names <= {d["friendly_name"] for d in z2m["devices"].values()}
