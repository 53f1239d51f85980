"""Modbus RTU meters and transmitters read through register maps (pymodbus over pyserial).

A register map (``firmware_configs/modbus/<profile>.yaml``) names each value's register,
data type, word order and scale. Neighbouring registers are read in one request (at
most 125 registers, gaps of up to 16 unused registers bridged), so an energy meter
costs two or three requests per poll instead of one per value.
"""

from __future__ import annotations

import logging
import math
import termios
from dataclasses import dataclass
from typing import Literal

from pymodbus import FramerType
from pymodbus.client import ModbusSerialClient
from pymodbus.exceptions import ConnectionException, ModbusException

from campuswatch.clock import Clock
from campuswatch.protocol import KINDS, FieldValue
from gateway.config import ModbusDeviceConfig, ModbusProfile, ModbusRtuSourceConfig, RegisterField
from gateway.errors import BusError, SourceError
from gateway.sources.bus import BusSource

log = logging.getLogger(__name__)

REGISTER_COUNT = {"int16": 1, "uint16": 1, "int32": 2, "uint32": 2, "float32": 2}
MAX_REGISTERS_PER_READ = 125  # the Modbus limit for functions 3 and 4
MAX_BRIDGED_GAP = 16
_DATATYPE = ModbusSerialClient.DATATYPE


@dataclass(frozen=True, slots=True)
class PlacedField:
    """A field's position in a block read and how to decode it."""

    name: str
    offset: int
    datatype: str
    word_order: Literal["big", "little"]
    scale: float


@dataclass(frozen=True, slots=True)
class ReadBlock:
    """One read request: ``count`` registers from ``start`` with one function code."""

    function: Literal["holding", "input"]
    start: int
    count: int
    fields: tuple[PlacedField, ...]


def plan_reads(profile: ModbusProfile) -> list[ReadBlock]:
    """Group a register map's fields into as few read requests as the protocol allows."""
    fields = sorted(profile.fields, key=lambda f: (f.function or profile.function, f.address))
    blocks: list[ReadBlock] = []
    group: list[RegisterField] = []
    for f in fields:
        if group and not _fits(group, f, profile):
            blocks.append(_block(group, profile))
            group = []
        group.append(f)
    if group:
        blocks.append(_block(group, profile))
    return blocks


def _fits(group: list[RegisterField], f: RegisterField, profile: ModbusProfile) -> bool:
    first, last = group[0], group[-1]
    same_function = (f.function or profile.function) == (first.function or profile.function)
    end = max(g.address + REGISTER_COUNT[g.datatype] for g in group)
    new_end = max(end, f.address + REGISTER_COUNT[f.datatype])
    return (
        same_function
        and f.address - (last.address + REGISTER_COUNT[last.datatype]) <= MAX_BRIDGED_GAP
        and new_end - first.address <= MAX_REGISTERS_PER_READ
    )


def _block(group: list[RegisterField], profile: ModbusProfile) -> ReadBlock:
    start = group[0].address
    end = max(f.address + REGISTER_COUNT[f.datatype] for f in group)
    placed = tuple(
        PlacedField(
            f.field, f.address - start, f.datatype, f.word_order or profile.word_order, f.scale
        )
        for f in group
    )
    return ReadBlock(group[0].function or profile.function, start, end - start, placed)


def decode_block(block: ReadBlock, registers: list[int]) -> dict[str, float]:
    """The values of a block's fields from its registers (``raw x scale``); NaN/inf left out."""
    values: dict[str, float] = {}
    for f in block.fields:
        words = registers[f.offset : f.offset + REGISTER_COUNT[f.datatype]]
        raw = ModbusSerialClient.convert_from_registers(
            words, getattr(_DATATYPE, f.datatype.upper()), word_order=f.word_order
        )
        assert isinstance(raw, int | float)
        value = float(raw) * f.scale
        if math.isfinite(value):
            # float32 carries about 7 significant digits; more would be noise in the database.
            values[f.name] = float(f"{value:.7g}") if f.datatype == "float32" else value
    return values


class ModbusSource(BusSource[ModbusDeviceConfig]):
    """The devices of one ``modbus_rtu`` source, polled in turn on one serial port."""

    def __init__(
        self, config: ModbusRtuSourceConfig, profiles: dict[str, ModbusProfile], clock: Clock
    ) -> None:
        super().__init__(
            f"modbus {config.port}", list(config.devices), config.poll.total_seconds(), clock
        )
        self.config = config
        self.plans = {d.profile: plan_reads(profiles[d.profile]) for d in config.devices}
        self._client: ModbusSerialClient | None = None

    def open_bus(self) -> None:
        """Open the serial port (any pyserial port name or URL)."""
        c = self.config
        client = ModbusSerialClient(
            c.port,
            framer=FramerType.RTU,
            baudrate=c.baudrate,
            parity=c.parity,
            stopbits=c.stopbits,
            timeout=c.timeout.total_seconds(),
            retries=c.retries,
        )
        try:
            opened = client.connect()
        except (OSError, termios.error) as exc:  # a port that cannot be configured
            raise SourceError(f"cannot open serial port {c.port}: {exc}") from exc
        if not opened:
            client.close()  # type: ignore[no-untyped-call]
            raise SourceError(f"cannot open serial port {c.port}")
        self._client = client
        log.info("%s: open at %d baud, parity %s", self.name, c.baudrate, c.parity)

    def close_bus(self) -> None:
        """Close the serial port."""
        if self._client is not None:
            self._client.close()  # type: ignore[no-untyped-call]
            self._client = None

    def read_device(self, device: ModbusDeviceConfig) -> dict[str, FieldValue]:
        """Read every block of the device's register map."""
        values: dict[str, FieldValue] = {}
        for block in self.plans[device.profile]:
            values.update(decode_block(block, self._read_block(device.unit, block)))
        missing = [name for name in KINDS[device.kind].required if name not in values]
        if missing:
            raise SourceError(f"unit {device.unit} gave no usable {missing[0]} (NaN or infinite)")
        return values

    def _read_block(self, unit: int, block: ReadBlock) -> list[int]:
        client = self._client
        if client is None:
            raise BusError("the port is closed")
        read = (
            client.read_holding_registers
            if block.function == "holding"
            else client.read_input_registers
        )
        where = f"unit {unit} {block.function} registers {block.start:#06x}+{block.count}"
        try:
            response = read(block.start, count=block.count, device_id=unit)
        except ConnectionException as exc:
            raise BusError(f"{where}: {exc}") from exc
        except ModbusException as exc:
            raise SourceError(f"{where}: no valid answer ({exc})") from exc
        if response.isError():
            code = getattr(response, "exception_code", "?")
            raise SourceError(f"{where}: the device refused (exception code {code})")
        registers = list(response.registers)
        if len(registers) < block.count:
            raise SourceError(f"{where}: only {len(registers)} register(s) in the answer")
        return registers
