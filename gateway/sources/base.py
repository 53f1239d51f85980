"""The one interface every reading source implements (their loops run on the core's Worker)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from campuswatch.protocol import FieldValue

RawReading = dict[str, Any]
"""``{"device", "kind", "ts", "values"}`` as it goes into an envelope."""
Emit = Callable[[RawReading], None]
SnapshotSink = Callable[[str, str, bytes], None]
"""Takes a camera snapshot ``(device, snapshot id, JPEG)`` into store-and-forward."""


def make_reading(device: str, kind: str, ts_ms: int, values: dict[str, FieldValue]) -> RawReading:
    """A reading as the wire protocol carries it."""
    return {"device": device, "kind": kind, "ts": ts_ms, "values": values}


class Source(Protocol):
    """Produces readings until stopped; never raises out of its thread."""

    name: str

    def start(self, emit: Emit) -> None:
        """Begin producing readings through ``emit``."""
        ...

    def stop(self) -> None:
        """Stop and release the bus or connection."""
        ...

    def stats(self) -> dict[str, int]:
        """Counters for health readings and logs (errors, readings)."""
        ...
