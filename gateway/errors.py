"""Exceptions of the gateway package (and the config errors both programs share)."""

from __future__ import annotations


class GatewayError(Exception):
    """Base class of every error the gateway raises on purpose."""


class ConfigError(GatewayError):
    """A config file is missing, unreadable or invalid.

    ``problems`` lists every problem as ``FILE: key.path: reason``.
    """

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class SourceError(GatewayError):
    """A device or bus did not answer, or answered something unusable."""


class BusError(SourceError):
    """The serial port itself failed (unplugged adapter, port vanished): reopen it."""


class BufferFailure(GatewayError):
    """The store-and-forward buffer could not be read or written."""
