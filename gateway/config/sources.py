"""The sources of readings and their devices, one config class per source type
(``sources[].type``): Modbus RTU, DL/T 645, Zigbee2MQTT, MQTT JSON, simulated, cameras."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from campuswatch.configfile import Strict
from campuswatch.durations import Duration
from campuswatch.protocol import DeviceInfo, Kind
from gateway.config.types import DeviceId, FailAt, FieldName, TopicText
from gateway.config.uplink import BrokerConfig

UNION_TAGS = frozenset(
    {"modbus_rtu", "dlt645", "zigbee2mqtt", "mqtt_json", "simulated", "camera"}
    | {"webhook", "wecom", "dingtalk", "feishu", "email"}  # edge.channels
)


class DeviceConfig(Strict):
    """What every device has: id, kind, and what goes into the meta message."""

    device: DeviceId
    kind: Kind
    name: str | None = Field(default=None, max_length=128)
    interval_s: Annotated[int, Field(gt=0, le=86_400)] = 60
    tags: dict[Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,32}$")], DeviceId] = Field(
        default_factory=dict
    )

    def info(self) -> DeviceInfo:
        """The device's entry in the meta message."""
        return DeviceInfo(
            device=self.device,
            kind=self.kind,
            name=self.name,
            interval_s=self.interval_s,
            tags=self.tags,
        )


class ModbusDeviceConfig(DeviceConfig):
    """A Modbus RTU slave read through a register map."""

    unit: Annotated[int, Field(ge=1, le=247)]
    profile: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]+$")]


class ModbusRtuSourceConfig(Strict):
    """Several Modbus RTU devices on one RS-485 bus, polled in turn."""

    type: Literal["modbus_rtu"]
    port: str
    baudrate: int = 9600
    parity: Literal["N", "E", "O"] = "N"
    stopbits: Literal[1, 2] = 1
    poll: Duration = timedelta(seconds=60)
    timeout: Duration = timedelta(seconds=1)
    retries: Annotated[int, Field(ge=0, le=10)] = 2
    devices: list[ModbusDeviceConfig] = Field(min_length=1)


Dlt645Value = Literal["energy_kwh", "power_w", "voltage_v", "current_a"]


class Dlt645DeviceConfig(DeviceConfig):
    """A DL/T 645-2007 energy meter, by its 12-digit address."""

    kind: Literal["electricity"] = "electricity"
    address: Annotated[str, StringConstraints(pattern=r"^\d{12}$")]
    # Which energy register is energy_kwh: forward active total (正向有功总电能, every
    # meter), or combined active total (组合有功总电能) for meters that count both ways.
    energy: Literal["forward_active_total", "combined_active_total"] = "forward_active_total"
    # What to read besides the total active energy (one request each).
    read: tuple[Dlt645Value, ...] = ("energy_kwh",)


class Dlt645SourceConfig(Strict):
    """DL/T 645-2007 meters on one RS-485 bus (2400 baud, even parity by default)."""

    type: Literal["dlt645"]
    port: str
    baudrate: int = 2400
    parity: Literal["N", "E", "O"] = "E"
    poll: Duration = timedelta(seconds=60)
    timeout: Duration = timedelta(seconds=2)
    retries: Annotated[int, Field(ge=0, le=10)] = 2
    devices: list[Dlt645DeviceConfig] = Field(min_length=1)


class Zigbee2MqttDeviceConfig(DeviceConfig):
    """A Zigbee device as Zigbee2MQTT names it."""

    kind: Literal["door", "smoke", "leak", "panic", "motion", "temperature", "electricity"]
    friendly_name: TopicText


class Zigbee2MqttSourceConfig(Strict):
    """Zigbee2MQTT's device topics on a local broker."""

    type: Literal["zigbee2mqtt"]
    broker: BrokerConfig = BrokerConfig()
    base_topic: TopicText = "zigbee2mqtt"
    # The last state is repeated every interval_s while the device is available and its
    # last message is younger than this (Zigbee sensors check in about hourly).
    stale_after: Duration = timedelta(hours=2)
    devices: list[Zigbee2MqttDeviceConfig] = Field(min_length=1)


class MqttJsonDeviceConfig(DeviceConfig):
    """One value from an MQTT topic: a plain value, or a path into a JSON payload."""

    topic: TopicText
    field: FieldName
    # ``DS18B20.Temperature`` for Tasmota's tele/<t>/SENSOR; omitted: the payload itself.
    path: Annotated[str, StringConstraints(pattern=r"^[^.]+(\.[^.]+)*$")] | None = None
    # For bool fields whose payload means the opposite (a reed switch wired "ON" = closed).
    invert: bool = False


class MqttJsonSourceConfig(Strict):
    """ESPHome, Tasmota or anything else publishing JSON or plain values."""

    type: Literal["mqtt_json"]
    broker: BrokerConfig = BrokerConfig()
    # The last value is repeated every interval_s until no message came for this long.
    stale_after: Duration = timedelta(minutes=10)
    devices: list[MqttJsonDeviceConfig] = Field(min_length=1)


class SimulatedSourceConfig(Strict):
    """Realistic readings for demos and tests, deterministic from ``seed``."""

    type: Literal["simulated"]
    seed: int = 0
    # Seconds between readings of each device (default: its interval_s); tests go faster.
    every_s: Annotated[float, Field(gt=0)] | None = None
    # Scenarios: a device fails (door left open and unlocked, fridge compressor stops,
    # smoke) this long after start (``5m``) or at a time of day in the gateway's
    # timezone (``"21:30"``).
    fail: dict[DeviceId, FailAt] = Field(default_factory=dict)
    devices: list[DeviceConfig] = Field(min_length=1)


Point = Annotated[list[Annotated[int, Field(ge=0, le=10_000)]], Field(min_length=2, max_length=2)]


class CameraDeviceConfig(DeviceConfig):
    """A camera: RTSP, HTTP MJPEG, a video file or a USB index, analysed on the gateway."""

    kind: Literal["camera"] = "camera"
    # rtsp://, http(s):// MJPEG, a file path, or a USB camera's index (0, 1, ...).
    url: Annotated[str, StringConstraints(min_length=1)] | Annotated[int, Field(ge=0, le=63)]
    fps: Annotated[float, Field(gt=0, le=30)] = 5.0
    width: Annotated[int, Field(ge=160, le=1920)] = 640
    # Ignore polygons in pixels of the scaled frame (trees, a road, a flag): no motion there.
    mask: list[Annotated[list[Point], Field(min_length=3)]] = Field(default_factory=list)
    # Smallest moving area that counts, as a fraction of the frame.
    min_area: Annotated[float, Field(gt=0, le=0.5)] = 0.003
    persons: bool = True  # run the person detector on moving regions
    snapshot_every: Duration = timedelta(seconds=10)  # at most one snapshot per this long
    loop: bool = True  # a video file starts again at its end (demos, tests)


class CameraSourceConfig(Strict):
    """Gate cameras analysed with OpenCV (motion, persons, tamper, offline)."""

    type: Literal["camera"]
    devices: list[CameraDeviceConfig] = Field(min_length=1)


SourceConfig = Annotated[
    ModbusRtuSourceConfig
    | Dlt645SourceConfig
    | Zigbee2MqttSourceConfig
    | MqttJsonSourceConfig
    | SimulatedSourceConfig
    | CameraSourceConfig,
    Field(discriminator="type"),
]
