"""Build the reading source of each configured ``sources:`` entry."""

from __future__ import annotations

from pathlib import Path

from campuswatch.clock import Clock
from gateway.config import (
    CameraSourceConfig,
    Dlt645SourceConfig,
    ModbusProfile,
    ModbusRtuSourceConfig,
    MqttJsonSourceConfig,
    SimulatedSourceConfig,
    SourceConfig,
    Zigbee2MqttSourceConfig,
)
from gateway.sources import dlt645, modbus, mqtt_json, simulated, zigbee2mqtt
from gateway.sources.base import SnapshotSink, Source


def build_source(
    config: SourceConfig,
    profiles: dict[str, ModbusProfile],
    timezone: str,
    clock: Clock,
    client_id: str,
    snapshots: SnapshotSink,
    state_path: Path | None = None,
) -> Source:
    """The source for one config entry; ``client_id`` names its local MQTT connection,
    ``snapshots`` takes camera snapshots into store-and-forward, ``state_path`` keeps a
    local-MQTT source's device states across restarts."""
    if isinstance(config, ModbusRtuSourceConfig):
        return modbus.ModbusSource(config, profiles, clock)
    if isinstance(config, Dlt645SourceConfig):
        return dlt645.Dlt645BusSource(config, clock)
    if isinstance(config, Zigbee2MqttSourceConfig):
        return zigbee2mqtt.Zigbee2MqttSource(config, client_id, clock, state_path)
    if isinstance(config, MqttJsonSourceConfig):
        return mqtt_json.MqttJsonSource(config, client_id, clock, state_path)
    if isinstance(config, CameraSourceConfig):
        # OpenCV loads only on gateways that have cameras.
        from gateway.sources.camera.source import CameraSource as Cameras  # noqa: PLC0415

        return Cameras(config, timezone, clock, snapshots)
    assert isinstance(config, SimulatedSourceConfig)
    return simulated.SimulatedSource(config, timezone, clock)
