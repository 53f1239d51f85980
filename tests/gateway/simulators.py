"""Serial device simulators for tests: Modbus RTU meters (a pymodbus RTU server)."""

from __future__ import annotations

import asyncio
import struct
import threading
from typing import Any

from pymodbus.server import ModbusSerialServer
from pymodbus.simulator import DataType, SimData, SimDevice

HOLDING, INPUT = 3, 4


def words(value: float) -> list[int]:
    """A float32 as two registers, high word first."""
    return list(struct.unpack(">HH", struct.pack(">f", value)))


class SimulatedMeter:
    """One energy meter: its registers by function code, energy growing on every read."""

    def __init__(self, unit: int, function: int, addresses: dict[str, int]) -> None:
        self.unit, self.function, self.addresses = unit, function, addresses
        self.energy = 1000.0
        self.reads = 0

    def registers(self) -> dict[int, int]:
        """The current register contents."""
        values = {
            "voltage_v": 230.5,
            "current_a": 4.25,
            "power_w": 0.96,
            "energy_kwh": self.energy,
            "export_kwh": 250.0,
            "total_kwh": self.energy + 250.0,
        }
        table: dict[int, int] = {}
        for name, address in self.addresses.items():
            table[address], table[address + 1] = words(values[name])
        return table

    async def action(
        self, fc: int, start: int, _address: int, _count: int, current: list[int], _set: Any
    ) -> None:
        """pymodbus calls this on every access: fill in the registers, count the read."""
        if fc != self.function:
            return
        self.reads += 1
        self.energy += 0.25
        table = self.registers()
        for i in range(len(current)):
            current[i] = table.get(start + i, 0)

    def device(self) -> SimDevice:
        """The pymodbus simulator device (registers 0 .. 0x4010 of both functions)."""

        def block() -> list[SimData]:
            return [SimData(0, count=0x4010, values=0, datatype=DataType.REGISTERS)]

        bits = [SimData(0, values=False, datatype=DataType.BITS)]
        return SimDevice(id=self.unit, simdata=(bits, bits, block(), block()), action=self.action)


class MeterBus:
    """A pymodbus RTU server with some meters, in a thread; meters can be silenced."""

    def __init__(self, port: str, meters: list[SimulatedMeter]) -> None:
        self.port, self.meters = port, meters
        self.silent: set[int] = set()
        self._loop = asyncio.new_event_loop()
        self._server: ModbusSerialServer | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _trace(self, sending: bool, data: bytes) -> bytes:
        # A silenced meter's answers never reach the line, as if it had lost power.
        return b"" if sending and data and data[0] in self.silent else data

    async def _serve(self) -> None:
        self._server = ModbusSerialServer(
            [m.device() for m in self.meters],
            port=self.port,
            baudrate=9600,
            ignore_missing_devices=True,
            trace_packet=self._trace,
        )
        await self._server.serve_forever(background=True)
        self._ready.set()
        await self._server.serving

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._serve())

    def start(self) -> None:
        """Start serving and wait until the port is open."""
        self._thread.start()
        assert self._ready.wait(10)

    def stop(self) -> None:
        """Shut the server down."""
        assert self._server is not None
        asyncio.run_coroutine_threadsafe(self._server.shutdown(), self._loop).result(10)
        self._thread.join(10)


DDSU666 = {"voltage_v": 0x2000, "current_a": 0x2002, "power_w": 0x2004, "energy_kwh": 0x4000}
# The SDM120's input registers as its manual lists them (30073 import, 30075 export,
# 30343 total = import + export), not as the shipped map reads them.
SDM120 = {
    "voltage_v": 0x0000,
    "current_a": 0x0006,
    "power_w": 0x000C,
    "energy_kwh": 0x0048,
    "export_kwh": 0x004A,
    "total_kwh": 0x0156,
}
