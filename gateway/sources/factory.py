"""Build the reading source of each configured ``sources:`` entry."""

from __future__ import annotations

from gateway.clock import Clock
from gateway.config import (
    ModbusProfile,
)
from gateway.config import (
    SimulatedSource as SimulatedConfig,
)
from gateway.config import (
    Source as SourceConfig,
)
from gateway.sources.base import Source
from gateway.sources.simulated import SimulatedSource


def build_source(
    config: SourceConfig, profiles: dict[str, ModbusProfile], timezone: str, clock: Clock
) -> Source:
    """The source for one config entry."""
    # load_gateway_config refuses the other types (config.NOT_YET_BUILT).
    assert isinstance(config, SimulatedConfig), config.type
    return SimulatedSource(config, timezone, clock)
