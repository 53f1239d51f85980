"""InfluxDB with ``auth-enabled = true`` (the shipped config): the service writes as its own
user; with a wrong password it says so, backs off, and loses nothing once corrected."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from demo.services import InfluxServer, MosquittoServer
from ingest.errors import InfluxRejected
from ingest.storage.influx import InfluxClient
from tests.harness import (
    BASE_TS,
    IngestProcess,
    Publisher,
    config_dict,
    count_points,
    envelope,
    reading,
    unique,
    wait_for,
)

USER, PASSWORD = "campuswatch", "the right password"


@pytest.fixture(scope="module")
def influx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxServer]:
    server = InfluxServer(tmp_path_factory.mktemp("influx-auth"), auth=True)
    server.start()
    yield server
    server.stop()


def test_anonymous_requests_are_refused(influx: InfluxServer) -> None:
    answer = httpx.post(f"{influx.url}/query", data={"q": "SHOW DATABASES"})
    assert answer.status_code == 401


def test_a_wrong_password_is_said_backed_off_and_nothing_is_lost(
    influx: InfluxServer, broker: MosquittoServer, tmp_path: Path, publisher: Publisher
) -> None:
    database = unique("auth")
    for statement in (
        f'CREATE DATABASE "{database}"',
        f"CREATE USER {USER} WITH PASSWORD '{PASSWORD}'",
        f'GRANT ALL ON "{database}" TO {USER}',
    ):
        assert influx.query(statement).status_code == 200
    config = config_dict(tmp_path / "state", broker, influx, database=database)
    config["influx"] |= {"username": USER, "password": "a wrong one"}
    ingest = IngestProcess(config, tmp_path)
    ingest.start()
    root = config["mqtt"]["topic_root"]
    readings = [reading(f"fridge-{i}", "temperature", BASE_TS + i, celsius=4.0) for i in range(50)]
    publisher.publish(
        f"{root}/sunshine-kg/gw-canteen/readings", envelope("gw-canteen", 1, readings)
    )
    try:
        health = wait_for(lambda: httpx.get(f"{ingest.api}/api/health").json(), 5)
        assert (health["status"], health["influx"], health["mqtt"]) == ("degraded", False, True)
        errors_before = ingest.metric("campus_write_errors_total")
        time.sleep(6)
        tries = ingest.metric("campus_write_errors_total") - errors_before
        assert tries <= 6, f"{tries} write attempts in 6 s: no backoff"
    finally:
        ingest.stop()
    log = ingest.log_text()
    assert "401" in log
    assert "check influx username/password" in log
    config["influx"]["password"] = PASSWORD
    fixed = IngestProcess(config, tmp_path)
    fixed.start()
    try:
        client = InfluxClient(influx.url, database, username=USER, password=PASSWORD)
        wait_for(lambda: count_points(client, "temperature", "celsius") == 50, 20)
        assert httpx.get(f"{fixed.api}/api/health").json()["influx"] is True
        client.close()
    finally:
        fixed.stop()


def test_the_retention_is_set_by_an_admin_and_left_to_one_otherwise(influx: InfluxServer) -> None:
    database = unique("keep")
    admin = InfluxClient(influx.url, database, username=influx.admin[0], password=influx.admin[1])
    admin.create_database()
    assert admin.ensure_retention(400) is True
    assert admin.query("SHOW RETENTION POLICIES")[0]["duration"] == "9600h0m0s"
    assert admin.ensure_retention(400) is False  # already so
    assert influx.query(f"CREATE USER reader{database} WITH PASSWORD 'pw'").status_code == 200
    assert influx.query(f'GRANT READ ON "{database}" TO reader{database}').status_code == 200
    reader = InfluxClient(influx.url, database, username=f"reader{database}", password="pw")
    reader.create_database()  # not an admin: the database is the administrator's, no error
    with pytest.raises(InfluxRejected):
        reader.ensure_retention(30)
    admin.close()
    reader.close()
