"""The whole ``campus-gateway`` configuration file."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field

from campuswatch.configfile import Strict
from campuswatch.durations import Duration
from gateway.config.edge import EdgeConfig
from gateway.config.sources import DeviceConfig, SourceConfig
from gateway.config.uplink import BufferConfig, IdentityConfig, UplinkConfig


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
    # SPEC §12: alarms the gateway tells itself while the central broker is out of reach.
    edge: EdgeConfig | None = None

    def devices(self) -> list[DeviceConfig]:
        """Every device of every source."""
        return [d for source in self.sources for d in source.devices]
