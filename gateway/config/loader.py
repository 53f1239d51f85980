"""Loading a gateway config (``campus-gateway run --config FILE``): the file, every
register map it names, and the checks across sections (ids used twice, settings that would
make every reading useless), so a typo is found by ``campus-gateway check`` and never at
3 a.m. on the first poll."""

from __future__ import annotations

from pathlib import Path

from campuswatch.configfile import load_model
from campuswatch.errors import ConfigError
from campuswatch.protocol import KINDS
from gateway.config.profiles import ModbusProfile, load_profile, profile_problems
from gateway.config.schema import GatewayConfig
from gateway.config.sources import (
    UNION_TAGS,
    CameraDeviceConfig,
    DeviceConfig,
    Dlt645SourceConfig,
    ModbusRtuSourceConfig,
    MqttJsonDeviceConfig,
    SourceConfig,
)


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
