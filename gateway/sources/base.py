"""The one interface every reading source implements, and the thread they share."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

from gateway.protocol import FieldValue

log = logging.getLogger(__name__)

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


class PollingThread:
    """Runs ``step`` in a thread until stopped; ``step`` returns seconds to wait next."""

    def __init__(self, name: str, step: Callable[[], float]) -> None:
        self.name = name
        self._step = step
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        """Start the thread."""
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to end and wait for it."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(10)

    @property
    def stopping(self) -> bool:
        """True once stop() was called."""
        return self._stopping.is_set()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                delay = self._step()
            except Exception:  # a source bug must not end the source: log and go on
                log.exception("source %s failed; retrying", self.name)
                delay = 5.0
            self._stopping.wait(max(0.0, delay))
