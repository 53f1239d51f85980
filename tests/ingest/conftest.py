"""Fixtures of the ingest's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from demo.services import InfluxServer
from ingest.storage.influx import InfluxClient
from tests.harness import unique


@pytest.fixture
def client(influxd: InfluxServer) -> Iterator[InfluxClient]:
    """A client on a fresh database of the session's influxd."""
    c = InfluxClient(influxd.url, unique("db"))
    c.create_database()
    yield c
    c.close()
