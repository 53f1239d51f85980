"""Server configuration: schema, value types and the loader."""

from ingest.config.loader import load_config
from ingest.config.schema import (
    ApiSettings,
    ApiToken,
    InfluxSettings,
    IngestConfig,
    MqttSettings,
    SiteSettings,
    SpoolSettings,
)

__all__ = [
    "ApiSettings",
    "ApiToken",
    "InfluxSettings",
    "IngestConfig",
    "MqttSettings",
    "SiteSettings",
    "SpoolSettings",
    "load_config",
]
