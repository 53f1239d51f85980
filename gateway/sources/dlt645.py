"""DL/T 645-2007 energy meters on one RS-485 bus (pyserial; frames in dlt645_codec)."""

from __future__ import annotations

import logging
import termios
import time

import serial

from campuswatch.clock import Clock
from campuswatch.protocol import FieldValue
from gateway.config import Dlt645DeviceConfig, Dlt645SourceConfig
from gateway.errors import BusError, SourceError
from gateway.sources import dlt645_codec as codec
from gateway.sources.bus import BusSource

log = logging.getLogger(__name__)


class Dlt645Port:
    """Request/answer exchanges on one serial port."""

    def __init__(
        self, port: str, baudrate: int, parity: str, timeout_s: float, retries: int
    ) -> None:
        self.timeout_s = timeout_s
        self.retries = retries
        self.garbage_frames = 0
        try:
            self._serial = serial.serial_for_url(
                port, baudrate=baudrate, parity=parity, bytesize=8, stopbits=1, timeout=0.02
            )
        except (serial.SerialException, ValueError, OSError, termios.error) as exc:
            raise SourceError(f"cannot open serial port {port}: {exc}") from exc

    def close(self) -> None:
        """Close the port."""
        self._serial.close()

    def exchange(self, request: bytes, address: str, control: int) -> bytes:
        """Send ``request`` and return the data of the meter's answer, retrying on failure."""
        last: SourceError | None = None
        for _attempt in range(self.retries + 1):
            try:
                return codec.check_reply(self._transact(request), address, control)
            except codec.FrameError as exc:
                last = exc
        assert last is not None
        raise last

    def _transact(self, request: bytes) -> codec.Frame:
        try:
            self._serial.reset_input_buffer()  # a late answer to an earlier request
            self._serial.write(request)
            return self._read_frame()
        except (serial.SerialException, OSError, termios.error) as exc:
            raise BusError(str(exc)) from exc

    def _read_frame(self) -> codec.Frame:
        buffer = b""
        deadline = time.monotonic() + self.timeout_s
        problems: list[str] = []
        while time.monotonic() < deadline:
            buffer += self._serial.read(max(1, self._serial.in_waiting))
            frame, used, skipped = codec.find_frame(buffer)
            problems += skipped
            self.garbage_frames += len(skipped)
            buffer = buffer[used:]
            if frame is not None:
                return frame
        detail = f" ({'; '.join(problems[:3])})" if problems else ""
        raise codec.FrameError(f"no valid answer within {self.timeout_s:.1f} s{detail}")

    def read_address(self) -> str:
        """Ask the only meter on the bus for its address (the discovery request)."""
        data = self.exchange(
            codec.read_address_request(), codec.BROADCAST_ADDRESS, codec.CONTROL_READ_ADDRESS
        )
        if len(data) != 6:
            raise codec.FrameError(f"address answer has {len(data)} byte(s), expected 6")
        return codec.decode_address(data)


class Dlt645BusSource(BusSource[Dlt645DeviceConfig]):
    """The meters of one ``dlt645`` source, polled in turn."""

    def __init__(self, config: Dlt645SourceConfig, clock: Clock) -> None:
        super().__init__(
            f"dlt645 {config.port}", list(config.devices), config.poll.total_seconds(), clock
        )
        self.config = config
        self._port: Dlt645Port | None = None
        self._garbage_before = 0  # invalid frames seen on ports closed since

    def open_bus(self) -> None:
        """Open the serial port."""
        c = self.config
        self._port = Dlt645Port(c.port, c.baudrate, c.parity, c.timeout.total_seconds(), c.retries)
        log.info("%s: open at %d baud, parity %s", self.name, c.baudrate, c.parity)

    def close_bus(self) -> None:
        """Close the serial port."""
        if self._port is not None:
            self._garbage_before += self._port.garbage_frames
            self._port.close()
            self._port = None

    def read_device(self, device: Dlt645DeviceConfig) -> dict[str, FieldValue]:
        """Read the total active energy and the other configured values of one meter."""
        port = self._port
        if port is None:
            raise BusError("the port is closed")
        values: dict[str, FieldValue] = {}
        for name in dict.fromkeys(("energy_kwh", *device.read)):
            item = (
                codec.ENERGY_ITEMS[device.energy]
                if name == "energy_kwh"
                else codec.DATA_ITEMS[name]
            )
            request = codec.read_data_request(device.address, item.identifier)
            data = port.exchange(request, device.address, codec.CONTROL_READ_DATA)
            values[name] = codec.decode_reading(data, item)
        return values

    def stats(self) -> dict[str, int]:
        """Bus counters plus the invalid frames seen on the line."""
        counters = super().stats()
        port = self._port
        counters["garbage_frames"] = self._garbage_before + (port.garbage_frames if port else 0)
        return counters
