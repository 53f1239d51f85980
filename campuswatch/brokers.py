"""Several brokers for one MQTT connection (SPEC §13 ``mqtt.hosts``): the nodes of a
cluster, tried in turn. Connect to the first that answers; when the connection fails or
is lost, move to the next (the caller's backoff spaces the tries).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Annotated, Protocol, Self

from pydantic import AfterValidator, Field, model_validator

from campuswatch.configfile import Port, Strict

log = logging.getLogger(__name__)

# A DNS name or IPv4 address, or an IPv6 address in brackets; then the port.
_HOST_PORT = re.compile(
    r"(?P<host>[A-Za-z0-9][A-Za-z0-9.-]{0,252}|\[[0-9A-Fa-f:.]{2,45}\]):(?P<port>[0-9]{1,5})"
)
Address = tuple[str, int]


class _Connectable(Protocol):
    def connect_async(self, host: str, port: int = 1883, keepalive: int = 60) -> None: ...


def parse_host_port(text: str) -> Address:
    """``"nats-1:1883"`` as ``("nats-1", 1883)``; ValueError saying what is wrong."""
    match = _HOST_PORT.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not HOST:PORT (e.g. nats-1:1883 or [::1]:1883)")
    port = int(match["port"])
    if not 1 <= port <= 65535:
        raise ValueError(f"port {port} of {text!r} is not between 1 and 65535")
    return match["host"].strip("[]"), port


def _checked(text: str) -> str:
    parse_host_port(text)
    return text


HostPort = Annotated[str, AfterValidator(_checked)]


class BrokerAddresses(Strict):
    """``host`` and ``port`` of one broker, or ``hosts``: several, tried in turn."""

    host: str | None = None
    port: Port = 1883
    hosts: Annotated[list[HostPort], Field(min_length=1, max_length=16)] | None = None

    @model_validator(mode="after")
    def _one_way(self) -> Self:
        if self.hosts is not None and {"host", "port"} & self.model_fields_set:
            raise ValueError("give hosts, or host and port; not both")
        if self.hosts is None and self.host is None:
            raise ValueError("no broker: give host (and port) or hosts")
        return self

    def addresses(self) -> list[Address]:
        """The brokers, in the order they are tried."""
        if self.hosts:
            return [parse_host_port(text) for text in self.hosts]
        assert self.host is not None  # checked when the config was read
        return [(self.host, self.port)]


class BrokerRotation:
    """Which broker of a list a client uses now, and moving on to the next."""

    def __init__(self, addresses: Sequence[Address]) -> None:
        if not addresses:
            raise ValueError("no broker address")
        self.addresses = list(addresses)
        self._index = 0

    @property
    def current(self) -> Address:
        """The broker to connect to."""
        return self.addresses[self._index]

    def describe(self) -> str:
        """``host:port`` of the current broker, for logs."""
        host, port = self.current
        return f"{host}:{port}"

    def reconnect_next(self, client: _Connectable, keepalive: int) -> None:
        """Point ``client`` (paho's) at the next broker: its own reconnect loop uses it. Its
        ``host`` cannot be set while a connect is pending; ``connect_async`` can."""
        client.connect_async(*self.move_on(), keepalive=keepalive)

    def move_on(self) -> Address:
        """The next broker (back to the first after the last)."""
        if len(self.addresses) > 1:
            self._index = (self._index + 1) % len(self.addresses)
            log.info("MQTT: trying broker %s next", self.describe())
        return self.current
