"""Fixtures that start the real programs (mosquitto, influxd) once per session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from demo.services import InfluxServer, MosquittoServer
from ingest.app import IngestService
from ingest.config import IngestConfig
from ingest.storage.influx import InfluxClient
from tests.harness import ChildProcess, Publisher, config_dict

FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Remember on the test whether its body failed (for _no_leftover_processes)."""
    report = yield
    if report.when == "call" and report.failed:
        item.stash[FAILED] = True
    return report


@pytest.fixture(autouse=True)
def _no_leftover_processes(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test that fails half-way does not leave its service running for the rest."""
    before = set(ChildProcess.running)  # module fixtures' processes are started already
    yield
    if request.node.stash.get(FAILED, False):
        ChildProcess.kill_leftovers(before)


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MosquittoServer]:
    """One Mosquitto with the shipped broker config, shared by the session."""
    server = MosquittoServer(tmp_path_factory.mktemp("mosquitto"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def influxd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxServer]:
    """One influxd shared by the session; tests isolate themselves by database."""
    server = InfluxServer(tmp_path_factory.mktemp("influxd"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def config(tmp_path: Path, broker: MosquittoServer, influxd: InfluxServer) -> dict[str, Any]:
    """A config dict with a fresh topic root, database, client id and state dir."""
    return config_dict(tmp_path / "state", broker, influxd)


@pytest.fixture
def service(config: dict[str, Any]) -> Iterator[IngestService]:
    """An ingest service running in this process."""
    svc = IngestService(IngestConfig.model_validate(config))
    svc.start()
    assert svc.wait_ready(), "the ingest never subscribed"
    yield svc
    svc.stop()


@pytest.fixture
def db(config: dict[str, Any], influxd: InfluxServer) -> Iterator[InfluxClient]:
    """A client for the test's database."""
    client = InfluxClient(influxd.url, config["influx"]["database"])
    yield client
    client.close()


@pytest.fixture
def publisher(broker: MosquittoServer) -> Iterator[Publisher]:
    """A QoS 1 publisher on the session broker."""
    pub = Publisher(broker.port)
    yield pub
    pub.close()


@pytest.fixture
def two_brokers(tmp_path: Path) -> Iterator[tuple[MosquittoServer, MosquittoServer]]:
    """Two mosquittos of the test's own (two nodes for failover; a central and a local one)."""
    first, second = MosquittoServer(tmp_path / "mq-1"), MosquittoServer(tmp_path / "mq-2")
    first.start()
    second.start()
    yield first, second
    first.stop()
    second.stop()
