"""The gateway config, one module per section as the file reads: ``schema`` (the whole
file), ``uplink`` (identity, campus broker, buffer, local broker), ``sources`` (one class
per source type and its devices), ``profiles`` (Modbus register maps), ``types`` and
``loader`` (the file, its register maps and the checks across sections). Unknown keys are
errors everywhere."""

from gateway.config.loader import load_gateway_config
from gateway.config.profiles import (
    SHIPPED_PROFILES,
    ModbusProfile,
    RegisterField,
    load_profile,
    profile_problems,
)
from gateway.config.schema import GatewayConfig
from gateway.config.sources import (
    UNION_TAGS,
    CameraDeviceConfig,
    CameraSourceConfig,
    DeviceConfig,
    Dlt645DeviceConfig,
    Dlt645SourceConfig,
    ModbusDeviceConfig,
    ModbusRtuSourceConfig,
    MqttJsonDeviceConfig,
    MqttJsonSourceConfig,
    SimulatedSourceConfig,
    SourceConfig,
    Zigbee2MqttDeviceConfig,
    Zigbee2MqttSourceConfig,
)
from gateway.config.types import TopicText
from gateway.config.uplink import BrokerConfig, BufferConfig, IdentityConfig, UplinkConfig

__all__ = [
    "SHIPPED_PROFILES",
    "UNION_TAGS",
    "BrokerConfig",
    "BufferConfig",
    "CameraDeviceConfig",
    "CameraSourceConfig",
    "DeviceConfig",
    "Dlt645DeviceConfig",
    "Dlt645SourceConfig",
    "GatewayConfig",
    "IdentityConfig",
    "ModbusDeviceConfig",
    "ModbusProfile",
    "ModbusRtuSourceConfig",
    "MqttJsonDeviceConfig",
    "MqttJsonSourceConfig",
    "RegisterField",
    "SimulatedSourceConfig",
    "SourceConfig",
    "TopicText",
    "UplinkConfig",
    "Zigbee2MqttDeviceConfig",
    "Zigbee2MqttSourceConfig",
    "load_gateway_config",
    "load_profile",
    "profile_problems",
]
