"""DL/T 645-2007: frames published by others (a widely reprinted table of common frames,
"DLT645-2007 规约 常见报文解析", 2012, e.g. hwhale.com/article/138066) and worked out by
hand from the standard's layout, and a meter simulator on a real pseudo-terminal that,
like a real meter, refuses data identifiers it does not have (garbage bytes, wrong
checksums, silence)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import serial

from campuswatch.clock import SystemClock
from gateway.config import Dlt645SourceConfig
from gateway.sources import dlt645_codec as codec
from gateway.sources.dlt645 import Dlt645BusSource, Dlt645Port
from tests.gateway.harness import Collector
from tests.gateway.serial_ports import PtyPair
from tests.harness import wait_for

ADDRESS = "000012345678"
# Published: read 正向有功总电能 (DI 00 01 00 00, sent 00 00 01 00 + 33 = 33 33 34 33) from
# meter 000000000161, and its answer 000000.26 kWh (26 00 00 00 + 33 = 59 33 33 33).
PUBLISHED_READ_ENERGY = bytes.fromhex("68 610100000000 68 11 04 33333433 14 16")
PUBLISHED_ANSWER_ENERGY = bytes.fromhex("68 610100000000 68 91 08 33333433 59333333 8A 16")
# Published: A-phase voltage (DI 02 01 01 00) and its answer, 100.1 V (01 10 + 33 = 34 43).
PUBLISHED_READ_VOLTAGE = bytes.fromhex("68 610100000000 68 11 04 33343435 17 16")
PUBLISHED_ANSWER_VOLTAGE = bytes.fromhex("68 610100000000 68 91 06 33343435 3443 10 16")
# Read the same item from meter 000012345678, by hand:
# FE x4 | 68 | 78 56 34 12 00 00 | 68 | 11 | 04 | 33 33 34 33 | CS | 16
# CS = 68+78+56+34+12+00+00+68+11+04+33+33+34+33 = 0x2C6 -> C6
READ_ENERGY = bytes.fromhex("FEFEFEFE 68 785634120000 68 11 04 33333433 C6 16")
# The meter's answer, 12345.67 kWh: BCD 01 23 45 67 sent low byte first = 67 45 23 01,
# + 33 = 9A 78 56 34; control 91, length 08;
# CS = 0x2C6 - 11 - 04 + 91 + 08 + 9A + 78 + 56 + 34 = 0x4E6 -> E6
ANSWER_ENERGY = bytes.fromhex("68 785634120000 68 91 08 33333433 9A785634 E6 16")
# Read address (control 13) to the broadcast address AA x6, no data:
# CS = 68 + 6 x AA + 68 + 13 + 00 = 0x68 + 0x3FC + 0x68 + 0x13 = 0x4DF -> DF
READ_ADDRESS = bytes.fromhex("FEFEFEFE 68 AAAAAAAAAAAA 68 13 00 DF 16")


FORWARD = codec.ENERGY_ITEMS["forward_active_total"].identifier


def test_requests_match_the_published_frames() -> None:
    assert FORWARD == 0x00010000  # 正向有功总电能, DI3 DI2 DI1 DI0 = 00 01 00 00
    published = codec.read_data_request("000000000161", FORWARD)
    assert published == codec.PREAMBLE + PUBLISHED_READ_ENERGY
    voltage = codec.read_data_request("000000000161", codec.DATA_ITEMS["voltage_v"].identifier)
    assert voltage == codec.PREAMBLE + PUBLISHED_READ_VOLTAGE
    assert codec.read_data_request(ADDRESS, FORWARD) == READ_ENERGY
    assert codec.read_address_request() == READ_ADDRESS


def test_the_published_answers_decode() -> None:
    for answer, item, value in (
        (PUBLISHED_ANSWER_ENERGY, codec.ENERGY_ITEMS["forward_active_total"], 0.26),
        (PUBLISHED_ANSWER_VOLTAGE, codec.DATA_ITEMS["voltage_v"], 100.1),
    ):
        frame, used, problems = codec.find_frame(answer)
        assert frame is not None, problems
        assert (frame.address, used) == ("000000000161", len(answer))
        data = codec.check_reply(frame, "000000000161", codec.CONTROL_READ_DATA)
        assert codec.decode_reading(data, item) == pytest.approx(value)


def test_the_hand_worked_answer_decodes() -> None:
    frame, used, problems = codec.find_frame(ANSWER_ENERGY)
    assert frame is not None
    assert (frame.address, frame.control, used, problems) == (ADDRESS, 0x91, len(ANSWER_ENERGY), [])
    data = codec.check_reply(frame, ADDRESS, codec.CONTROL_READ_DATA)
    assert codec.decode_reading(data, codec.DATA_ITEMS["energy_kwh"]) == pytest.approx(12345.67)


def test_garbage_and_corrupt_frames_are_skipped_with_reasons() -> None:
    corrupt = bytearray(ANSWER_ENERGY)
    corrupt[-2] ^= 0xFF  # wrong checksum
    stream = b"\x00\x68\x01\x02" + bytes(corrupt) + b"\xfe\xfe" + ANSWER_ENERGY + b"\x68\x78"
    frame, used, problems = codec.find_frame(stream)
    assert frame is not None
    assert frame.address == ADDRESS
    assert any("wrong checksum" in p for p in problems)
    assert any("no second 68" in p for p in problems)
    # What is left starts a frame that is not complete yet: it is kept for the next read.
    assert stream[used:] == b"\x68\x78"
    assert codec.find_frame(stream[used:])[:2] == (None, 0)


def test_refusals_wrong_meters_and_bcd() -> None:
    refusal = codec.find_frame(codec.build_frame(ADDRESS, 0xD1, b"\x02"))[0]
    assert refusal is not None
    with pytest.raises(codec.FrameError, match="refused"):
        codec.check_reply(refusal, ADDRESS, codec.CONTROL_READ_DATA)
    other = codec.find_frame(codec.build_frame("000000000001", 0x91, b"\x00" * 8))[0]
    assert other is not None
    with pytest.raises(codec.FrameError, match="expected 000012345678"):
        codec.check_reply(other, ADDRESS, codec.CONTROL_READ_DATA)
    power = codec.DATA_ITEMS["power_w"]
    # -1.2345 kW: BCD 01 23 45 with the sign bit -> 81 23 45, low byte first 45 23 81
    assert codec.decode_bcd(bytes.fromhex("452381"), power) == pytest.approx(-1234.5)
    assert codec.encode_bcd(-1234.5, power) == bytes.fromhex("452381")
    with pytest.raises(codec.FrameError, match="not a BCD number"):
        codec.decode_bcd(bytes.fromhex("AB000000"), codec.DATA_ITEMS["energy_kwh"])


class MeterSimulator:
    """DL/T 645 meters on one end of a pseudo-terminal; misbehaviour on request."""

    def __init__(self, port: str, meters: dict[str, float]) -> None:
        self.energy = meters
        self.mode = "normal"  # normal | garbage | bad_checksum | silent
        self.requests = 0
        self._serial = serial.Serial(port, 2400, parity="E", timeout=0.05)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        """Answer requests in a thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop answering."""
        self._stop.set()
        self._thread.join(5)
        self._serial.close()

    def _run(self) -> None:
        buffer = b""
        while not self._stop.is_set():
            buffer += self._serial.read(64)
            frame, used, _problems = codec.find_frame(buffer)
            buffer = buffer[used:]
            if frame is not None:
                self.requests += 1
                answer = self._answer(frame)
                if answer is not None and self.mode != "silent":
                    self._serial.write(self._spoil(answer))

    def _answer(self, frame: codec.Frame) -> bytes | None:
        if frame.control == codec.CONTROL_READ_ADDRESS and len(self.energy) == 1:
            [address] = self.energy
            return codec.build_frame(address, 0x93, codec.encode_address(address))
        if frame.control != codec.CONTROL_READ_DATA or frame.address not in self.energy:
            return None
        identifier = int.from_bytes(frame.data[:4], "little")
        energy = self.energy[frame.address]
        # What this meter has, by DI3 DI2 DI1 DI0; anything else it refuses (error 02:
        # no such data), as meters do with the tariff items they lack.
        known = {
            0x00010000: (energy, 4, 2),
            0x00000000: (energy + 100.0, 4, 2),
            0x02010100: (229.8, 2, 1),
            0x02020100: (3.125, 3, 3),
            0x02030000: (0.7182, 3, 4),
        }
        if identifier not in known:
            return codec.build_frame(frame.address, 0xD1, b"\x02")
        value, size, decimals = known[identifier]
        self.energy[frame.address] += 0.01
        body = frame.data[:4] + codec.encode_bcd(value, codec.DataItem(identifier, size, decimals))
        return codec.build_frame(frame.address, 0x91, body)

    def _spoil(self, answer: bytes) -> bytes:
        if self.mode == "garbage":
            return b"\x11\x68\x00\xff" + answer[:9] + b"\x99\x16"
        if self.mode == "bad_checksum":
            return answer[:-2] + bytes([answer[-2] ^ 0x5A]) + answer[-1:]
        return answer


@pytest.fixture
def line(tmp_path: Path) -> Iterator[tuple[MeterSimulator, str]]:
    """Two meters on a pseudo-terminal; yields the simulator and the gateway's port."""
    ports = PtyPair(tmp_path)
    ports.start()
    simulator = MeterSimulator(
        ports.device, {ADDRESS: 12345.67, "000000000042": 8.5, "000000000077": 500.0}
    )
    simulator.start()
    yield simulator, ports.gateway
    simulator.stop()
    ports.stop()


def _source(port: str) -> Dlt645BusSource:
    config = Dlt645SourceConfig.model_validate(
        {
            "type": "dlt645",
            "port": port,
            "poll": "1s",
            "timeout": "300ms",
            "retries": 1,
            "devices": [
                {
                    "device": "meter-kitchen",
                    "address": ADDRESS,
                    "read": ["power_w", "voltage_v", "current_a"],
                },
                {"device": "meter-office", "address": "000000000042"},
                # A meter that counts both ways: its combined total is the bill.
                {
                    "device": "meter-solar",
                    "address": "000000000077",
                    "energy": "combined_active_total",
                },
            ],
        }
    )
    return Dlt645BusSource(config, SystemClock())


def test_meters_are_read_and_bad_answers_counted_without_a_crash(
    line: tuple[MeterSimulator, str],
) -> None:
    simulator, port = line
    source = _source(port)
    got = Collector()
    source.start(got)
    try:
        wait_for(lambda: len(got.of("meter-office")) >= 2, 10)
        for mode in ("garbage", "bad_checksum", "silent"):
            simulator.mode = mode
            errors = source.stats()["errors"]
            wait_for(lambda before=errors: source.stats()["errors"] > before, 15)
        simulator.mode = "normal"
        readings = len(got.of("meter-office"))
        wait_for(lambda: len(got.of("meter-office")) > readings, 20)  # back after backoff
    finally:
        source.stop()
    kitchen = got.of("meter-kitchen")[0]["values"]
    assert kitchen == {
        "energy_kwh": pytest.approx(12345.67),
        "power_w": pytest.approx(718.2),
        "voltage_v": pytest.approx(229.8),
        "current_a": pytest.approx(3.125),
    }
    assert set(got.of("meter-office")[0]["values"]) == {"energy_kwh"}
    # The simulator's combined total is its forward total + 100 kWh.
    assert got.of("meter-solar")[0]["values"]["energy_kwh"] == pytest.approx(600.0, abs=1)
    stats = source.stats()
    assert stats["garbage_frames"] >= 2  # the garbage and the corrupt frames, seen and counted
    assert source.health["meter-office"].available


def _discover(tmp_path: Path, mode: str) -> subprocess.CompletedProcess[str]:
    """``campus-gateway dlt645-address`` against one simulated meter in ``mode``."""
    ports = PtyPair(tmp_path)
    ports.start()
    simulator = MeterSimulator(ports.device, {"201900001234": 1.0})
    simulator.mode = mode
    simulator.start()
    try:
        return subprocess.run(
            [sys.executable, "-m", "gateway.cli", "dlt645-address", "--port", ports.gateway],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    finally:
        simulator.stop()
        ports.stop()


def test_address_discovery(tmp_path: Path) -> None:
    found = _discover(tmp_path, "normal")
    assert (found.returncode, found.stdout.strip()) == (0, "201900001234"), found.stderr
    silent = _discover(tmp_path, "silent")
    assert silent.returncode == 1
    assert "no valid answer within 2.0 s" in silent.stderr


def test_silence_is_a_timeout_not_a_hang(line: tuple[MeterSimulator, str]) -> None:
    simulator, port_name = line
    simulator.mode = "silent"
    port = Dlt645Port(port_name, 2400, "E", timeout_s=0.3, retries=1)
    started = time.monotonic()
    with pytest.raises(codec.FrameError, match=r"no valid answer within 0\.3 s"):
        port.exchange(codec.read_data_request(ADDRESS, FORWARD), ADDRESS, 0x11)
    assert time.monotonic() - started < 2
    port.close()
