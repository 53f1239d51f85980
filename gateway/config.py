"""The gateway config (``campus-gateway run --config FILE``) and Modbus register maps.

Sources and devices are described as data; unknown keys are errors everywhere, and
register maps named by ``profile:`` are loaded and checked at start-up, so a typo is
found by ``campus-gateway check`` and never at 3 a.m. on the first poll.
"""

from __future__ import annotations

from datetime import time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints

from campuswatch.configfile import Strict, load_model
from campuswatch.durations import Duration, parse_clock_time, parse_duration
from campuswatch.errors import ConfigError
from campuswatch.mqtttls import TlsConfig
from campuswatch.protocol import ID_PATTERN, KINDS, DeviceInfo, Kind
from campuswatch.protocol.kinds import refuse_unsafe
from campuswatch.protocol.messages import Text64

Identifier = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
DeviceId = Text64
Port = Annotated[int, Field(ge=1, le=65535)]


# An MQTT topic (or a part of one) of a local broker: no wildcards, no control characters.
TopicText = Annotated[
    str, StringConstraints(min_length=1, pattern=r"^[^#+]+$"), AfterValidator(refuse_unsafe)
]


def parse_fail_at(value: Any) -> timedelta | time:
    """``5m`` (after the start) or ``"21:30"`` (the next time the clock shows it)."""
    if isinstance(value, timedelta | time):
        return value
    if isinstance(value, str) and ":" in value:
        return parse_clock_time(value)
    try:
        return parse_duration(value)
    except ValueError:
        raise ValueError(
            f"{value!r} is neither a duration after the start (5m) nor a time of day (21:30)"
        ) from None


FailAt = Annotated[timedelta | time, BeforeValidator(parse_fail_at)]
UNION_TAGS = frozenset({"modbus_rtu", "dlt645", "zigbee2mqtt", "mqtt_json", "simulated", "camera"})
FieldName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_]{1,64}$")]


class IdentityConfig(Strict):
    """Which gateway this is, on which campus."""

    id: Identifier
    site: Identifier


class UplinkConfig(Strict):
    """The central broker the gateway publishes to."""

    host: str
    port: Port = 1883
    username: str | None = None
    password: str | None = None
    topic_root: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$")] = (
        "campus"
    )
    tls: TlsConfig | None = None
    keepalive_s: Annotated[int, Field(ge=5, le=600)] = 30
    # Envelopes published but not yet acknowledged, and readings per envelope.
    max_inflight: Annotated[int, Field(ge=1, le=1000)] = 20
    envelope_readings: Annotated[int, Field(ge=1, le=1000)] = 500


class BufferConfig(Strict):
    """The on-disk store-and-forward queue."""

    path: Path
    max_mb: Annotated[float, Field(gt=0)] = 256
    # Camera snapshots wait in a queue of their own beside it (``<path>.snapshots``).
    snapshot_mb: Annotated[float, Field(gt=0)] = 64


class BrokerConfig(Strict):
    """A local broker (Zigbee2MQTT, ESPHome and Tasmota publish there)."""

    host: str = "127.0.0.1"
    port: Port = 1883
    username: str | None = None
    password: str | None = None


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


class GatewayConfig(Strict):
    """The whole ``campus-gateway`` configuration file."""

    gateway: IdentityConfig
    uplink: UplinkConfig
    buffer: BufferConfig
    sources: list[SourceConfig] = Field(min_length=1)
    timezone: str = "Asia/Shanghai"
    # Register maps of your own, added to (or replacing) the shipped ones of the same
    # name; a relative path is taken from the config file's directory.
    modbus_profiles: Path = Path("modbus")
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # Health readings (kind gateway): uptime, buffer depth, drops, errors, CPU temperature.
    health_interval: Duration = timedelta(seconds=60)

    def devices(self) -> list[DeviceConfig]:
        """Every device of every source."""
        return [d for source in self.sources for d in source.devices]


# --------------------------------------------------------------------------- register maps

DataType = Literal["int16", "uint16", "int32", "uint32", "float32"]


class RegisterField(Strict):
    """One value read from one or two registers: ``value = raw x scale``."""

    field: FieldName
    # "register" in the file; named address here (BaseModel has a register attribute).
    address: Annotated[int, Field(ge=0, le=65535, alias="register")]
    datatype: DataType
    scale: float = 1.0
    function: Literal["holding", "input"] | None = None
    word_order: Literal["big", "little"] | None = None


class ModbusProfile(Strict):
    """A device model's register map (``firmware_configs/modbus/<profile>.yaml``)."""

    model: str
    source: str = Field(min_length=1)
    # The kind of device the map is for; when given, devices of another kind are refused.
    kind: Kind | None = None
    function: Literal["holding", "input"] = "holding"
    word_order: Literal["big", "little"] = "big"
    fields: list[RegisterField] = Field(min_length=1)


def profile_problems(profile: ModbusProfile, kind: str | None = None) -> list[str]:
    """Fields that ``kind`` (default: the profile's own) does not have as numbers."""
    kind = kind or profile.kind
    if kind is None:
        return []
    types = KINDS[kind].types
    problems = [
        f"fields[{i}].field: {f.field!r} is not a numeric field of kind {kind}"
        for i, f in enumerate(profile.fields)
        if f.field in types and types[f.field].value not in ("float", "int")
    ]
    names = {f.field for f in profile.fields}
    spec = KINDS[kind]
    needed = [n for n in spec.required if n not in names]
    if spec.one_of and not names.intersection(spec.one_of):
        needed.append(" or ".join(spec.one_of))
    problems += [
        f"fields: a {kind} reading needs {n!r}, which this map does not read" for n in needed
    ]
    return problems


# The register maps installed with the gateway (also firmware_configs/modbus).
SHIPPED_PROFILES = Path(__file__).resolve().parent / "modbus_profiles"


def load_profile(directory: Path, name: str) -> ModbusProfile:
    """Load and check one register map: ``directory``'s own, else the shipped one."""
    path = directory / f"{name}.yaml"
    if not path.exists() and (SHIPPED_PROFILES / f"{name}.yaml").exists():
        path = SHIPPED_PROFILES / f"{name}.yaml"
    return load_model(path, ModbusProfile, profile_problems)


def load_gateway_config(path: Path) -> tuple[GatewayConfig, dict[str, ModbusProfile]]:
    """Load a gateway config and every register map it names (ConfigError on problems)."""
    profiles: dict[str, ModbusProfile] = {}

    def check(config: GatewayConfig) -> list[str]:
        return _cross_check(config) + _load_profiles(config, path.parent, profiles)

    return load_model(path, GatewayConfig, check, UNION_TAGS), profiles


def _load_profiles(
    config: GatewayConfig, base: Path, profiles: dict[str, ModbusProfile]
) -> list[str]:
    """Load the register maps of every Modbus device into ``profiles``; return problems."""
    directory = config.modbus_profiles
    if not directory.is_absolute():
        directory = base / directory
    problems: list[str] = []
    for i, source in enumerate(config.sources):
        if not isinstance(source, ModbusRtuSourceConfig):
            continue
        for j, device in enumerate(source.devices):
            where = f"sources[{i}].devices[{j}].profile: {device.profile}"
            if device.profile not in profiles:
                try:
                    profiles[device.profile] = load_profile(directory, device.profile)
                except ConfigError as exc:
                    problems.append(f"{where}: {exc.problems[0]}")
                    continue
            profile = profiles[device.profile]
            if profile.kind not in (None, device.kind):
                problems.append(f"{where} maps {profile.kind} devices, not {device.kind}")
            elif profile.kind is None:
                problems += [f"{where}: {p}" for p in profile_problems(profile, device.kind)]
    return problems


def _cross_check(config: GatewayConfig) -> list[str]:
    seen: set[str] = {config.gateway.id}  # the gateway's own health readings use its id
    problems = []
    for i, source in enumerate(config.sources):
        for j, device in enumerate(source.devices):
            where = f"sources[{i}].devices[{j}]"
            if device.device in seen:
                problems.append(f"{where}.device: {device.device!r} is used twice")
            seen.add(device.device)
            problems += [f"{where}.{p}" for p in _device_problems(source, device)]
    return problems


def _device_problems(source: SourceConfig, device: DeviceConfig) -> list[str]:
    """Settings that would make every reading of ``device`` useless."""
    if isinstance(source, ModbusRtuSourceConfig | Dlt645SourceConfig):
        poll = int(source.poll.total_seconds())
        if device.interval_s < poll:
            return [
                f"interval_s: {device.interval_s} s is shorter than the source's poll"
                f" ({poll} s): the server would take the meter for silent; set interval_s"
                f" to {poll} or more"
            ]
    if isinstance(device, CameraDeviceConfig) and any(c in device.device for c in "/+#"):
        return ["device: a camera's id goes into its snapshot topic: no '/', '+' or '#'"]
    if isinstance(device, MqttJsonDeviceConfig):
        spec = KINDS[device.kind]
        missing = [name for name in spec.required if name != device.field]
        if spec.one_of and device.field not in spec.one_of:
            missing.append(" or ".join(spec.one_of))
        if missing:
            return [
                f"field: a {device.kind} reading needs {missing[0]!r}; this device supplies"
                f" only {device.field!r}"
            ]
        declared = spec.field_type(device.field)
        if declared is not None and declared.value == "str":
            return [f"field: {device.field!r} is not a value this source can read"]
    return []
