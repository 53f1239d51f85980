"""One ``campus-gateway run`` process with every real source kind, end to end.

Two simulated Modbus meters on a socat serial pair, a Zigbee2MQTT door and an ESPHome
fridge probe on the (local) broker; the gateway publishes to the central ingest running
in this process, which stores into influxd. Checked in the database: values, meta tags,
bools as 0/1, and the gateway's own health readings.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from demo.services import MosquittoServer
from ingest.app import IngestService
from ingest.storage.influx import InfluxClient
from tests.gateway.harness import GatewayProcess, gateway_config
from tests.gateway.serial_ports import PtyPair
from tests.gateway.simulators import DDSU666, HOLDING, INPUT, SDM120, MeterBus, SimulatedMeter
from tests.harness import Publisher, count_points, unique, wait_for


@pytest.fixture
def meters(tmp_path: Path) -> Iterator[str]:
    """Two simulated meters on a serial line; yields the gateway's end."""
    ports = PtyPair(tmp_path)
    ports.start()
    bus = MeterBus(
        ports.device, [SimulatedMeter(1, HOLDING, DDSU666), SimulatedMeter(2, INPUT, SDM120)]
    )
    bus.start()
    yield ports.gateway
    bus.stop()
    ports.stop()


def _last(db: InfluxClient, measurement: str, device: str) -> dict[str, Any]:
    rows = db.query(
        f'SELECT * FROM "{measurement}" WHERE "device" = $device ORDER BY time DESC LIMIT 1',
        {"device": device},
    )
    return rows[0] if rows else {}


def test_every_source_kind_reaches_storage(
    tmp_path: Path,
    meters: str,
    broker: MosquittoServer,
    config: dict[str, Any],
    service: IngestService,
    db: InfluxClient,
    publisher: Publisher,
) -> None:
    local = unique("local-")
    sources = [
        {
            "type": "modbus_rtu",
            "port": meters,
            "baudrate": 9600,
            "poll": "1s",
            "timeout": "300ms",
            "devices": [
                {
                    "device": "meter-main",
                    "kind": "electricity",
                    "unit": 1,
                    "profile": "chint-ddsu666",
                    "name": "总电表",
                    "tags": {"building": "main"},
                },
                {
                    "device": "meter-kitchen",
                    "kind": "electricity",
                    "unit": 2,
                    "profile": "eastron-sdm120",
                    "tags": {"building": "canteen"},
                },
            ],
        },
        {
            "type": "zigbee2mqtt",
            "broker": {"port": broker.port},
            "base_topic": f"{local}z2m",
            "devices": [
                {
                    "device": "door-kitchen-back",
                    "kind": "door",
                    "friendly_name": "kitchen_back_door",
                    "tags": {"building": "canteen"},
                }
            ],
        },
        {
            "type": "mqtt_json",
            "broker": {"port": broker.port},
            "devices": [
                {
                    "device": "fridge-cold-1",
                    "kind": "temperature",
                    "field": "celsius",
                    "topic": f"{local}canteen-node/sensor/fridge1/state",
                    "tags": {"class": "refrigerator"},
                }
            ],
        },
    ]
    # Retained, as a bridge's last state would be: no race with the gateway's subscribe.
    z2m = {"contact": True, "battery": 97, "linkquality": 80}
    publisher.publish(f"{local}z2m/kitchen_back_door", orjson.dumps(z2m), retain=True)
    publisher.publish(f"{local}canteen-node/sensor/fridge1/state", b"4.25", retain=True)
    doc = gateway_config(tmp_path, broker.port, config["mqtt"]["topic_root"], sources)
    gateway = GatewayProcess({**doc, "health_interval": "1s"}, tmp_path)
    gateway.start()
    try:
        wait_for(lambda: count_points(db, "electricity", "energy_kwh") >= 6, 30)
        wait_for(lambda: _last(db, "door", "door-kitchen-back"), 15)
        wait_for(lambda: _last(db, "temperature", "fridge-cold-1"), 15)
        wait_for(lambda: count_points(db, "gateway", "read_errors") >= 2, 15)
    finally:
        gateway.stop()
    main = _last(db, "electricity", "meter-main")
    assert main["energy_kwh"] > 1000
    assert main["power_w"] == pytest.approx(960.0)
    assert main["building"] == "main"  # the meta's tags reach storage
    assert _last(db, "electricity", "meter-kitchen")["voltage_v"] == 230.5
    door = _last(db, "door", "door-kitchen-back")
    assert (door["open"], door["battery"]) == (0, 97.0)  # contact = closed, bool as 0/1
    fridge = _last(db, "temperature", "fridge-cold-1")
    assert (fridge["celsius"], fridge["class"]) == (4.25, "refrigerator")
    health = _last(db, "gateway", "gw-canteen")
    assert health["read_errors"] == 0
    assert health["buffer_dropped"] == 0
    assert "uptime_s" in health
    assert "Traceback" not in gateway.log_text()
