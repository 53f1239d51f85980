"""Polling several devices on one serial bus in turn (Modbus RTU, DL/T 645).

An RS-485 bus carries one request at a time, so one thread per bus asks each device in
turn when it is due. A device that does not answer costs at most its timeout and
retries, then waits out a capped, jittered backoff (several poll periods), so one dead
meter never stalls the others: their due times keep the poll rate, its readings stop,
its errors are counted and it is marked unavailable until it answers again. A bus that
cannot be opened (USB adapter unplugged) is reopened with backoff.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from campuswatch.backoff import Backoff
from campuswatch.clock import Clock, now_ms
from campuswatch.protocol import FieldValue
from campuswatch.worker import Worker
from gateway.config import DeviceConfig
from gateway.errors import BusError, SourceError
from gateway.sources.base import Emit, make_reading

log = logging.getLogger(__name__)

D = TypeVar("D", bound=DeviceConfig)
MAX_DEVICE_BACKOFF_S = 300.0  # a meter that comes back is read again within 5 minutes


@dataclass
class DeviceHealth:
    """Poll bookkeeping of one device on the bus."""

    due: float = 0.0
    available: bool = True
    readings: int = 0
    errors: int = 0
    last_error: str = ""
    backoff: Backoff = field(default_factory=Backoff)


class BusSource(ABC, Generic[D]):
    """One serial bus: open it, poll its devices in turn, emit what they answer."""

    def __init__(self, name: str, devices: list[D], poll_s: float, clock: Clock) -> None:
        self.name = name
        self.devices = devices
        self.poll_s = poll_s
        self.clock = clock
        # A device that failed is next tried after 2, 4, 8 ... poll periods (jittered).
        self.health = {
            d.device: DeviceHealth(
                backoff=Backoff(base=2 * poll_s, cap=max(2 * poll_s, MAX_DEVICE_BACKOFF_S))
            )
            for d in devices
        }
        self.bus_errors = 0
        self._bus_open = False
        self._bus_backoff = Backoff(base=1.0, cap=60.0)
        self._emit: Emit | None = None
        self._thread = Worker(name, self._step)

    # ------------------------------------------------------------------ transport

    @abstractmethod
    def open_bus(self) -> None:
        """Open the serial port (SourceError when it cannot be opened)."""

    @abstractmethod
    def close_bus(self) -> None:
        """Close the serial port; never raises."""

    @abstractmethod
    def read_device(self, device: D) -> dict[str, FieldValue]:
        """Ask one device for its values (SourceError when it does not answer usefully)."""

    # ------------------------------------------------------------------ Source

    def start(self, emit: Emit) -> None:
        """Start polling."""
        self._emit = emit
        self._thread.start()

    def stop(self) -> None:
        """Stop polling and close the bus."""
        self._thread.stop()
        self.close_bus()

    def stats(self) -> dict[str, int]:
        """Readings, read errors (devices and bus) and devices not answering."""
        return {
            "readings": sum(h.readings for h in self.health.values()),
            "errors": sum(h.errors for h in self.health.values()) + self.bus_errors,
            "unavailable": sum(not h.available for h in self.health.values()),
        }

    # ------------------------------------------------------------------ polling

    def _step(self) -> float:
        """Poll the device that is due next; return how long to wait."""
        if not self._bus_open:
            try:
                self.open_bus()
            except SourceError as exc:
                self.bus_errors += 1
                delay = self._bus_backoff.next_delay()
                log.warning("%s: %s; retrying in %.0f s", self.name, exc, delay)
                return delay
            self._bus_open = True
            self._bus_backoff.reset()
        device = min(self.devices, key=lambda d: self.health[d.device].due)
        wait = self.health[device.device].due - self.clock.time()
        if wait > 0:
            return wait
        self._poll(device)
        return min(h.due for h in self.health.values()) - self.clock.time()

    def _poll(self, device: D) -> None:
        health = self.health[device.device]
        try:
            values = self.read_device(device)
        except BusError as exc:
            self.bus_errors += 1
            log.warning("%s: the bus failed: %s; reopening", self.name, exc)
            self.close_bus()
            self._bus_open = False
            return
        except SourceError as exc:
            self._failed(device, health, str(exc))
            return
        except Exception as exc:  # a library bug on odd bytes: back this device off, not the bus
            log.exception("%s: reading %s failed unexpectedly", self.name, device.device)
            self._failed(device, health, f"unexpected {type(exc).__name__}: {exc}")
            return
        assert self._emit is not None
        self._emit(make_reading(device.device, device.kind, now_ms(self.clock), values))
        health.readings += 1
        if not health.available:
            log.info("%s: %s answers again", self.name, device.device)
        health.available = True
        health.backoff.reset()
        # Keep the rate: the next poll is one period after this one was due.
        due = health.due + self.poll_s
        now = self.clock.time()
        health.due = due if due > now else now + self.poll_s

    def _failed(self, device: D, health: DeviceHealth, reason: str) -> None:
        health.errors += 1
        health.last_error = reason
        delay = health.backoff.next_delay()
        health.due = self.clock.time() + delay
        if health.available:  # log the change, not every failed poll of a dead meter
            log.warning(
                "%s: %s is unavailable: %s (retrying with backoff)",
                self.name,
                device.device,
                reason,
            )
        health.available = False
