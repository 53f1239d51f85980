"""Modbus RTU through real serial ports: a pymodbus RTU server simulates two meters.

The server listens on one end of a socat pseudo-terminal pair; the gateway's source
reads the other end through the shipped register maps (CHINT DDSU666 at unit 1,
Eastron SDM120 at unit 2). The simulated meters' registers change on every read.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from campuswatch.clock import SystemClock
from gateway.config import ModbusProfile, ModbusRtuSourceConfig, load_profile
from gateway.sources.modbus import ModbusSource, decode_block, plan_reads
from tests.gateway.harness import FIRMWARE, Collector
from tests.gateway.serial_ports import PtyPair
from tests.gateway.simulators import (
    DDSU666,
    HOLDING,
    INPUT,
    SDM120,
    MeterBus,
    SimulatedMeter,
    words,
)
from tests.harness import wait_for


@pytest.fixture
def bus(tmp_path: Path) -> Iterator[tuple[MeterBus, str]]:
    """Two simulated meters on one bus; yields the bus and the gateway's port."""
    ports = PtyPair(tmp_path)
    ports.start()
    meters = [SimulatedMeter(1, HOLDING, DDSU666), SimulatedMeter(2, INPUT, SDM120)]
    server = MeterBus(ports.device, meters)
    server.start()
    yield server, ports.gateway
    server.stop()
    ports.stop()


def _source(port: str, poll: str = "200ms", timeout: str = "1s") -> ModbusSource:
    config = ModbusRtuSourceConfig.model_validate(
        {
            "type": "modbus_rtu",
            "port": port,
            "baudrate": 9600,
            "poll": poll,
            "timeout": timeout,
            "retries": 0,
            "devices": [
                {
                    "device": "meter-main",
                    "kind": "electricity",
                    "unit": 1,
                    "profile": "chint-ddsu666",
                    "interval_s": 60,
                },
                {
                    "device": "meter-kitchen",
                    "kind": "electricity",
                    "unit": 2,
                    "profile": "eastron-sdm120",
                    "interval_s": 60,
                },
            ],
        }
    )
    profiles = {
        p: load_profile(FIRMWARE / "modbus", p) for p in ("chint-ddsu666", "eastron-sdm120")
    }
    return ModbusSource(config, profiles, SystemClock())


def test_register_maps_are_read_in_few_requests() -> None:
    blocks = plan_reads(load_profile(FIRMWARE / "modbus", "eastron-sdm120"))
    assert [(b.function, b.start, b.count) for b in blocks] == [
        ("input", 0, 14),
        ("input", 0x48, 4),  # import and export energy, side by side
    ]
    ddsu = plan_reads(load_profile(FIRMWARE / "modbus", "chint-ddsu666"))
    assert [(b.start, b.count) for b in ddsu] == [(0x2000, 6), (0x4000, 2)]


def test_decoding_scales_and_word_orders() -> None:
    profile = ModbusProfile.model_validate(
        {
            "model": "test",
            "source": "hand-made for the test",
            "word_order": "little",
            "fields": [
                {"field": "energy_kwh", "register": 0, "datatype": "uint32", "scale": 0.01},
                {"field": "celsius", "register": 2, "datatype": "int16", "scale": 0.1},
                {"field": "power_w", "register": 3, "datatype": "float32", "word_order": "big"},
            ],
        }
    )
    [block] = plan_reads(profile)
    # 0x0001E240 = 123456 sent low word first; -45 as int16; 1.5 as float32 high word first.
    registers = [0xE240, 0x0001, 0xFFD3, *words(1.5)]
    assert decode_block(block, registers) == {
        "energy_kwh": pytest.approx(1234.56),
        "celsius": pytest.approx(-4.5),
        "power_w": 1.5,
    }
    nan = decode_block(block, [0, 0, 0, 0x7FC0, 0])
    assert "power_w" not in nan  # a NaN register is no measurement


def test_two_meters_are_read_through_their_profiles(bus: tuple[MeterBus, str]) -> None:
    _server, port = bus
    source = _source(port)
    got = Collector()
    source.start(got)
    try:
        wait_for(lambda: len(got.of("meter-main")) >= 3 and len(got.of("meter-kitchen")) >= 3, 15)
    finally:
        source.stop()
    for device in ("meter-main", "meter-kitchen"):
        first, *_, last = got.of(device)
        assert first["kind"] == "electricity"
        assert first["values"]["voltage_v"] == 230.5
        assert first["values"]["current_a"] == 4.25
        assert last["values"]["energy_kwh"] > first["values"]["energy_kwh"] > 1000
    # DDSU666 reports kW, the map scales to W.
    assert got.of("meter-main")[0]["values"]["power_w"] == pytest.approx(960.0)
    assert got.of("meter-kitchen")[0]["values"]["power_w"] == pytest.approx(0.96)
    # The Eastron's energy is its import register; export is reported beside it.
    kitchen = got.of("meter-kitchen")[0]["values"]
    assert 1000 < kitchen["energy_kwh"] < 1250
    assert kitchen["export_kwh"] == pytest.approx(250.0)
    assert source.stats()["errors"] == 0


def test_a_dead_meter_does_not_slow_the_other(bus: tuple[MeterBus, str]) -> None:
    server, port = bus
    # Polled every second; a meter that does not answer costs its 200 ms timeout.
    source = _source(port, poll="1s", timeout="200ms")
    got = Collector()
    source.start(got)
    try:
        time.sleep(1)
        start = time.monotonic()
        time.sleep(6)
        before = got.count_since("meter-main", start)
        server.silent.add(2)  # the kitchen meter loses power
        time.sleep(0.5)
        start = time.monotonic()
        time.sleep(6)
        during = got.count_since("meter-main", start)
        dead = got.count_since("meter-kitchen", start)
        stats = source.stats()
        server.silent.clear()  # power is back: it is read again after its backoff
        wait_for(lambda: source.stats()["unavailable"] == 0, 20)
    finally:
        source.stop()
    assert before >= 5
    assert during >= before - 1, (before, during)  # the live meter keeps its rate
    assert dead == 0
    assert stats["unavailable"] == 1
    assert stats["errors"] >= 2  # every failed poll is counted
    assert source.health["meter-kitchen"].last_error.startswith("unit 2 input registers")


def test_an_unplugged_adapter_is_reopened(tmp_path: Path) -> None:
    source = _source(str(tmp_path / "ttyUSB9"))
    source.start(Collector())
    try:
        wait_for(lambda: source.stats()["errors"] >= 1, 10)
    finally:
        source.stop()
    assert source.stats()["readings"] == 0
