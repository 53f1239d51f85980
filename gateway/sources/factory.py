"""Build the reading source of each configured ``sources:`` entry."""

from __future__ import annotations

from gateway.clock import Clock
from gateway.config import (
    CameraSource,
    Dlt645Source,
    ModbusProfile,
    ModbusRtuSource,
    MqttJsonSource,
    SimulatedSource,
    Zigbee2MqttSource,
)
from gateway.config import Source as SourceConfig
from gateway.sources import dlt645, modbus, mqtt_json, simulated, zigbee2mqtt
from gateway.sources.base import SnapshotSink, Source


def build_source(
    config: SourceConfig,
    profiles: dict[str, ModbusProfile],
    timezone: str,
    clock: Clock,
    client_id: str,
    snapshots: SnapshotSink,
) -> Source:
    """The source for one config entry; ``client_id`` names its local MQTT connection,
    ``snapshots`` takes camera snapshots into store-and-forward."""
    if isinstance(config, ModbusRtuSource):
        return modbus.ModbusSource(config, profiles, clock)
    if isinstance(config, Dlt645Source):
        return dlt645.Dlt645BusSource(config, clock)
    if isinstance(config, Zigbee2MqttSource):
        return zigbee2mqtt.Zigbee2MqttSource(config, client_id, clock)
    if isinstance(config, MqttJsonSource):
        return mqtt_json.MqttJsonSource(config, client_id, clock)
    if isinstance(config, CameraSource):
        # OpenCV loads only on gateways that have cameras.
        from gateway.sources.camera.source import CameraSource as Cameras  # noqa: PLC0415

        return Cameras(config, timezone, clock, snapshots)
    assert isinstance(config, SimulatedSource)
    return simulated.SimulatedSource(config, timezone, clock)
