"""Exceptions of the gateway package."""

from __future__ import annotations

from campuswatch.errors import CampuswatchError


class GatewayError(CampuswatchError):
    """Base class of every error the gateway raises on purpose."""


class SourceError(GatewayError):
    """A device or bus did not answer, or answered something unusable."""


class BusError(SourceError):
    """The serial port itself failed (unplugged adapter, port vanished): reopen it."""


class BufferFailure(GatewayError):
    """The store-and-forward buffer could not be read or written."""
