"""The bus poller's schedule on a manual clock, with a transport held in memory."""

from __future__ import annotations

from campuswatch.protocol import FieldValue
from gateway.config import DeviceConfig
from gateway.sources.bus import BusSource
from tests.clock import ManualClock
from tests.gateway.harness import Collector


class OddBus(BusSource[DeviceConfig]):
    """Two meters; the second makes the protocol library raise something unexpected."""

    def open_bus(self) -> None:
        """Nothing to open."""

    def close_bus(self) -> None:
        """Nothing to close."""

    def read_device(self, device: DeviceConfig) -> dict[str, FieldValue]:
        """The first meter answers; the second trips a bug on its odd bytes."""
        if device.device == "meter-odd":
            raise ValueError("unpack requires a buffer of 4 bytes")
        return {"energy_kwh": 1.0}


def test_an_unexpected_error_backs_off_that_device_and_spares_the_others() -> None:
    clock = ManualClock(1_795_459_200.0)
    devices = [DeviceConfig(device=d, kind="electricity") for d in ("meter-ok", "meter-odd")]
    bus = OddBus("test bus", devices, 60.0, clock)
    got = Collector()
    bus._emit = got  # drive the steps by hand instead of from the thread
    for _ in range(10):  # ten minutes of polling at 60 s
        while bus._step() <= 0:
            pass
        clock.advance(60.0)
    assert len(got.of("meter-ok")) == 10  # never starved by its neighbour
    stats = bus.stats()
    assert stats["unavailable"] == 1
    assert 1 <= stats["errors"] < 10  # counted, and retried with backoff, not every poll
    assert bus.health["meter-odd"].last_error.startswith("unexpected ValueError")
