"""``mqtt.hosts`` / ``uplink.hosts`` (SPEC §13): the ingest and a gateway, real processes,
connect to the first broker that answers and move to the next when it fails."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from campuswatch.brokers import BrokerRotation, parse_host_port
from demo.services import InfluxServer, MosquittoServer, free_port
from ingest.storage.influx import InfluxClient
from tests.gateway.harness import GatewayProcess, gateway_config, simulated
from tests.harness import IngestProcess, config_dict, count_points, wait_for


@pytest.fixture
def closer() -> Iterator[int]:
    """A port that takes the TCP connection and closes it at once (a node whose MQTT is
    down, or that refuses the login): the client must move on, not retry it for ever."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(5)
    server.close()


def test_the_ingest_and_a_gateway_take_the_next_broker_when_one_fails(
    tmp_path: Path,
    influxd: InfluxServer,
    two_brokers: tuple[MosquittoServer, MosquittoServer],
    closer: int,
) -> None:
    first, second = two_brokers
    # Nothing listens on the first; the second drops every connection.
    hosts = [f"127.0.0.1:{p}" for p in (free_port(), closer, first.port, second.port)]
    config = config_dict(tmp_path / "state", first, influxd)
    del config["mqtt"]["host"], config["mqtt"]["port"]
    config["mqtt"]["hosts"] = hosts
    ingest = IngestProcess(config, tmp_path)
    ingest.start()
    doc = gateway_config(tmp_path, first.port, config["mqtt"]["topic_root"], [simulated(2, 0.5)])
    del doc["uplink"]["host"], doc["uplink"]["port"]
    doc["uplink"]["hosts"] = hosts
    gateway = GatewayProcess(doc, tmp_path)
    gateway.start()
    db = InfluxClient(influxd.url, config["influx"]["database"])
    try:
        wait_for(lambda: count_points(db, "temperature", "celsius") >= 10, 60)
        assert f"uplink connected to 127.0.0.1:{first.port}" in gateway.log_text()
        first.stop()  # both move on to the second broker
        wait_for(lambda: f"to MQTT 127.0.0.1:{second.port}" in ingest.log_text(), 60)
        wait_for(lambda: f"connected to 127.0.0.1:{second.port}" in gateway.log_text(), 60)
        stored = count_points(db, "temperature", "celsius")
        wait_for(lambda: count_points(db, "temperature", "celsius") >= stored + 10, 60)
    finally:
        gateway.stop()
        ingest.stop()
        db.close()


def test_a_rotation_goes_round_and_parses_what_the_configs_allow() -> None:
    rotation = BrokerRotation([("nats-1", 1883), ("nats-2", 1883)])
    assert [rotation.current, rotation.move_on(), rotation.move_on()] == [
        ("nats-1", 1883),
        ("nats-2", 1883),
        ("nats-1", 1883),
    ]
    assert parse_host_port("[fd00::1]:8883") == ("fd00::1", 8883)
    for bad in ("nats-1", ":1883", "nats-1:0", "a b:1883", "nats-1:1883/x", "-x:1"):
        with pytest.raises(ValueError, match=r"HOST:PORT|between 1 and 65535"):
            parse_host_port(bad)
