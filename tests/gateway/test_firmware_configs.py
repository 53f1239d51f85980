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


def test_zigbee2mqtt_example_names_every_zigbee_device_of_the_gateway_configs() -> None:
    _topics, names = _local_topics()
    z2m = _load(FIRMWARE / "zigbee2mqtt" / "configuration.yaml")
    assert z2m["availability"]["enabled"] is True
    assert names <= {d["friendly_name"] for d in z2m["devices"].values()}
