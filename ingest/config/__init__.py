"""Server configuration (SPEC §4): the schema, value types, the reports section and the
loader that checks what a schema cannot."""

from ingest.config.loader import load_config
from ingest.config.schema import (
    ApiConfig,
    ApiTokenConfig,
    InfluxConfig,
    IngestConfig,
    MqttConfig,
    SiteConfig,
    SpoolConfig,
)

__all__ = [
    "ApiConfig",
    "ApiTokenConfig",
    "InfluxConfig",
    "IngestConfig",
    "MqttConfig",
    "SiteConfig",
    "SpoolConfig",
    "load_config",
]
