"""DL/T 645-2007 frames: build, find in a byte stream, check, and decode BCD values.

Frame layout (the standard, section 4)::

    FE FE FE FE | 68 | A0 .. A5 | 68 | C | L | DATA (each byte + 0x33) | CS | 16

The FE bytes wake the receiver and are not part of the frame. The address is 12 BCD
digits sent low byte first (``000012345678`` goes out as ``78 56 34 12 00 00``); CS is
the sum modulo 256 of every byte from the first 68 to the end of DATA. A data identifier
is written DI3 DI2 DI1 DI0 in the standard (正向有功总电能 is ``00 01 00 00``) and sent DI0
first (``00 00 01 00``, ``33 33 34 33`` with the offset); values are BCD, low byte first.

The PyPI package ``dlt645`` (3.x, 2025, one author) was evaluated and not used: 24,000
lines with loguru and log files written next to its own code (a read-only system on a
Pi), for the three requests a gateway needs.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.errors import SourceError

START = 0x68
END = 0x16
PREAMBLE = b"\xfe\xfe\xfe\xfe"
DATA_OFFSET = 0x33
BROADCAST_ADDRESS = "AAAAAAAAAAAA"  # the read-address request goes to every meter

CONTROL_READ_DATA = 0x11
CONTROL_READ_ADDRESS = 0x13
REPLY_BIT = 0x80  # set in every answer of the meter
ERROR_BIT = 0x40  # set when the meter refuses the request
FOLLOW_BIT = 0x20  # more frames follow (not used by the requests below)
_HEADER = 10  # 68, six address bytes, 68, C, L
_MAX_DATA = 200


class FrameError(SourceError):
    """Bytes on the bus that are not a valid, expected DL/T 645 frame."""


@dataclass(frozen=True, slots=True)
class Frame:
    """One frame: the meter's address as printed on it, the control code, decoded data."""

    address: str
    control: int
    data: bytes


@dataclass(frozen=True, slots=True)
class DataItem:
    """A value the gateway reads: its identifier and BCD layout."""

    identifier: int
    size: int  # bytes
    decimals: int
    signed: bool = False
    scale: float = 1.0


# DL/T 645-2007 appendix A: data identifiers (DI3 DI2 DI1 DI0 as the standard writes
# them) of the values a campus meter reports.
ENERGY_ITEMS = {
    # 正向有功总电能: what every meter has and every bill reads, XXXXXX.XX kWh.
    "forward_active_total": DataItem(0x00010000, 4, 2),
    # 组合有功总电能: forward and reverse combined as the meter is set up (some meters
    # of solar roofs count both ways).
    "combined_active_total": DataItem(0x00000000, 4, 2),
}
DATA_ITEMS = {
    "energy_kwh": ENERGY_ITEMS["forward_active_total"],
    "voltage_v": DataItem(0x02010100, 2, 1),  # phase A voltage, XXX.X V
    "current_a": DataItem(0x02020100, 3, 3, signed=True),  # phase A current, XXX.XXX A
    "power_w": DataItem(0x02030000, 3, 4, signed=True, scale=1000.0),  # total power, XX.XXXX kW
}


def encode_address(address: str) -> bytes:
    """``000012345678`` -> the six address bytes as sent (low byte first)."""
    if len(address) != 12:
        raise ValueError(f"a DL/T 645 address has 12 digits, not {address!r}")
    return bytes.fromhex(address)[::-1]


def decode_address(raw: bytes) -> str:
    """The six address bytes as sent -> the address as printed on the meter."""
    return raw[::-1].hex().upper()


def checksum(frame_bytes: bytes) -> int:
    """Sum modulo 256 of the bytes from the first 68 to the end of the data field."""
    return sum(frame_bytes) & 0xFF


def build_frame(address: str, control: int, data: bytes = b"") -> bytes:
    """A complete frame with the wake-up preamble; ``data`` is given undecorated."""
    body = (
        bytes([START])
        + encode_address(address)
        + bytes([START, control, len(data)])
        + bytes((b + DATA_OFFSET) & 0xFF for b in data)
    )
    return PREAMBLE + body + bytes([checksum(body), END])


def read_data_request(address: str, identifier: int) -> bytes:
    """The request for one data identifier (control 0x11)."""
    return build_frame(address, CONTROL_READ_DATA, identifier.to_bytes(4, "little"))


def read_address_request() -> bytes:
    """The request that makes the (only) meter on the bus tell its address (control 0x13)."""
    return build_frame(BROADCAST_ADDRESS, CONTROL_READ_ADDRESS)


def find_frame(buffer: bytes) -> tuple[Frame | None, int, list[str]]:
    """Look for the first valid frame in ``buffer``.

    Returns the frame (None while incomplete), how many bytes of ``buffer`` are used up
    (garbage and the frame), and a description of every invalid candidate skipped.
    """
    problems: list[str] = []
    at = 0
    while True:
        start = buffer.find(START, at)
        if start < 0:
            return None, len(buffer), problems
        if len(buffer) - start < _HEADER:
            return None, start, problems  # wait for the rest of the header
        length = buffer[start + 9]
        total = _HEADER + length + 2
        reason = None
        if buffer[start + 7] != START:
            reason = "no second 68 after the address"
        elif length > _MAX_DATA:
            reason = f"data length {length} is too long"
        elif len(buffer) - start < total:
            return None, start, problems  # wait for the rest of the frame
        elif buffer[start + total - 2] != checksum(buffer[start : start + total - 2]):
            reason = "wrong checksum"
        elif buffer[start + total - 1] != END:
            reason = "no end byte 16"
        if reason is None:
            raw = buffer[start + _HEADER : start + total - 2]
            frame = Frame(
                decode_address(buffer[start + 1 : start + 7]),
                buffer[start + 8],
                bytes((b - DATA_OFFSET) & 0xFF for b in raw),
            )
            return frame, start + total, problems
        problems.append(f"{reason} (frame at byte {start})")
        at = start + 1


def decode_bcd(raw: bytes, item: DataItem) -> float:
    """A BCD value sent low byte first; with ``signed`` the top bit is the sign."""
    digits = bytearray(raw[::-1])
    negative = item.signed and bool(digits[0] & 0x80)
    if item.signed:
        digits[0] &= 0x7F
    text = digits.hex()
    if not text.isdigit():
        raise FrameError(f"{raw.hex(' ')} is not a BCD number")
    value: float = int(text) / 10**item.decimals * item.scale
    return -value if negative else value


def encode_bcd(value: float, item: DataItem) -> bytes:
    """The inverse of :func:`decode_bcd` (meter simulators and tests)."""
    scaled = round(abs(value) / item.scale * 10**item.decimals)
    digits = bytearray(bytes.fromhex(f"{scaled:0{item.size * 2}d}"))
    if item.signed and value < 0:
        digits[0] |= 0x80
    return bytes(digits[::-1])


def check_reply(frame: Frame, address: str, request_control: int) -> bytes:
    """The data of the meter's answer to our request, or FrameError saying why not."""
    if address not in (frame.address, BROADCAST_ADDRESS):
        raise FrameError(f"answer from meter {frame.address}, expected {address}")
    if frame.control == request_control | REPLY_BIT | ERROR_BIT:
        code = frame.data[0] if frame.data else 0
        raise FrameError(f"the meter refused the request (error bits {code:#04x})")
    if frame.control & ~FOLLOW_BIT != request_control | REPLY_BIT:
        raise FrameError(f"unexpected control code {frame.control:#04x}")
    return frame.data


def decode_reading(data: bytes, item: DataItem) -> float:
    """The value in the answer to a read-data request for ``item``."""
    if len(data) < 4 + item.size:
        raise FrameError(f"answer has {len(data)} data byte(s), expected {4 + item.size}")
    echoed = int.from_bytes(data[:4], "little")
    if echoed != item.identifier:
        raise FrameError(f"answer is for data identifier {echoed:08X}, not {item.identifier:08X}")
    return decode_bcd(data[4 : 4 + item.size], item)
