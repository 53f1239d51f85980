"""Which gateway this is, and the brokers it talks to: the campus broker it publishes to
(``uplink``), the disk queue that holds what it could not send yet (``buffer``) and a
local broker its MQTT sources read (``broker``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, StringConstraints

from campuswatch.brokers import BrokerAddresses
from campuswatch.configfile import Port, Strict
from campuswatch.mqtttls import TlsConfig
from gateway.config.types import Identifier


class IdentityConfig(Strict):
    """Which gateway this is, on which campus."""

    id: Identifier
    site: Identifier


class UplinkConfig(BrokerAddresses):
    """The central broker the gateway publishes to: ``host`` and ``port``, or the nodes of
    a cluster in ``hosts`` (SPEC §13 ``mqtt.hosts``)."""

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
