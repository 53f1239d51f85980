"""``edge`` (SPEC §12): what a gateway does on its own when the central broker is out of
reach — tell its own channels of a smoke, leak or panic alarm, and sound a local siren."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from campuswatch.configfile import Port, Strict
from campuswatch.durations import Duration
from campuswatch.notify.config import PeopleChannelConfig
from campuswatch.protocol.edge import EDGE_KINDS, ChannelName, EdgeKind


class SirenConfig(Strict):
    """A siren on the gateway's local broker (e.g. a Zigbee2MQTT siren's ``set`` topic)."""

    topic: Annotated[str, StringConstraints(min_length=1, pattern=r"^[^#+]+$")]
    payload: Annotated[str, StringConstraints(max_length=4096)] = "ON"
    host: str = "127.0.0.1"
    port: Port = 1883
    username: str | None = None
    password: str | None = None


class EdgeConfig(Strict):
    """Alarms told by the gateway itself while the uplink is down for ``after``."""

    after: Duration = timedelta(seconds=30)
    kinds: list[EdgeKind] = Field(default_factory=lambda: list(EDGE_KINDS))
    channels: dict[ChannelName, PeopleChannelConfig] = Field(min_length=1)
    siren: SirenConfig | None = None
    language: Literal["zh", "en"] = "zh"
    # Where the notifications wait until their channel takes them (a reboot loses none);
    # default: beside the buffer, ``<buffer>.edge``.
    path: Path | None = None
