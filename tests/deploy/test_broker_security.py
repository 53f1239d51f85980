"""The shipped broker config with accounts made by ``campus-ingest broker``, against a real
mosquitto: who may connect, publish and subscribe, and the TLS listener (SPEC §10)."""

from __future__ import annotations

import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from campuswatch.mqtttls import TlsConfig
from demo.services import BrokerSecurity, InfluxServer, MosquittoServer
from ingest.app import IngestService
from ingest.broker.accounts import verify_password
from ingest.broker.certs import make_certificates
from ingest.config import IngestConfig
from tests.harness import BASE_TS, config_dict, envelope, reading, unique, wait_for

ROOT = "campus"


@dataclass
class Secured:
    """A broker as deployed, with the passwords its accounts got."""

    server: MosquittoServer
    files: BrokerSecurity
    passwords: dict[str, str]


def _broker_cli(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "ingest.cli", "broker", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secured]:
    work = tmp_path_factory.mktemp("secure-broker")
    tls = work / "tls"
    _broker_cli("certs", "--dir", str(tls), "--host", "127.0.0.1", "--host", "localhost")
    files = BrokerSecurity(
        work / "passwd", work / "acl", tls / "ca.crt", tls / "server.crt", tls / "server.key"
    )
    accounts = ("--passwd", str(files.passwd), "--acl", str(files.acl))
    passwords = {
        "site-a/gw-a": _broker_cli("add-gateway", "site-a", "gw-a", *accounts).strip(),
        "site-a/gw-b": _broker_cli("add-gateway", "site-a", "gw-b", *accounts).strip(),
        "ingest": _broker_cli("add-ingest", "ingest", *accounts).strip(),
    }
    server = MosquittoServer(work / "mosquitto", security=files)
    server.start()
    yield Secured(server, files, passwords)
    server.stop()


class Client:
    """A paho client of the secured broker that records what it got."""

    def __init__(
        self,
        secured: Secured,
        user: str | None,
        password: str | None = None,
        *,
        client_id: str | None = None,
        tls: ssl.SSLContext | None = None,
        clean: bool = True,
    ) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self.refused: Any = None
        self.connected = threading.Event()
        self.lost = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or unique("c-"),
            protocol=mqtt.MQTTv311,
            clean_session=clean,
        )
        if user is not None:
            self.client.username_pw_set(user, password)
        if tls is not None:
            self.client.tls_set_context(tls)
        self.client.on_connect = self._connect
        self.client.on_disconnect = lambda *_a: self.lost.set()
        self.client.on_connect_fail = lambda *_a: self.lost.set()  # before any CONNACK
        self.client.on_message = lambda _c, _u, m: self.messages.append((m.topic, m.payload))
        port = secured.server.tls_port if tls is not None else secured.server.port
        assert port is not None
        self.client.connect_async("127.0.0.1", port)
        self.client.loop_start()

    def _connect(self, _c: object, _u: object, _f: object, reason: Any, _p: object) -> None:
        if reason.is_failure:
            self.refused = reason
        else:
            self.connected.set()

    def subscribe(self, topic: str) -> None:
        done = threading.Event()
        self.client.on_subscribe = lambda *_a: done.set()
        self.client.subscribe(topic, qos=1)
        assert done.wait(5)

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _connected(client: Client) -> bool:
    wait_for(lambda: client.connected.is_set() or client.refused or client.lost.is_set(), 5)
    time.sleep(0.2)  # a refusal closes the connection right after the CONNACK
    return client.connected.is_set() and not client.lost.is_set()


def test_anonymous_and_wrong_passwords_are_refused(secured: Secured) -> None:
    for client in (
        Client(secured, None),
        Client(secured, "site-a/gw-a", "not the password"),
        Client(secured, "nobody", "whatever"),
    ):
        try:
            assert not _connected(client)
        finally:
            client.close()
    good = Client(secured, "site-a/gw-a", secured.passwords["site-a/gw-a"])
    try:
        assert _connected(good)
    finally:
        good.close()


def test_a_gateway_cannot_speak_for_or_listen_to_another(secured: Secured) -> None:
    ingest = Client(secured, "ingest", secured.passwords["ingest"])
    a = Client(secured, "site-a/gw-a", secured.passwords["site-a/gw-a"])
    b = Client(secured, "site-a/gw-b", secured.passwords["site-a/gw-b"])
    try:
        for client in (ingest, a, b):
            assert _connected(client)
        ingest.subscribe(f"{ROOT}/#")
        a.subscribe(f"{ROOT}/site-a/gw-b/#")
        a.subscribe("$SYS/#")
        ingest.subscribe("$SYS/broker/version")
        b.publish(f"{ROOT}/site-a/gw-b/meta", b'{"v":1,"gateway":"gw-b","devices":[]}', retain=True)
        # A publishes readings, meta and status as B: the broker delivers none of it.
        forged = envelope("gw-b", 1, [reading("door-1", "door", BASE_TS, open=False)])
        a.publish(f"{ROOT}/site-a/gw-b/readings", forged)
        a.publish(
            f"{ROOT}/site-a/gw-b/meta", b'{"v":1,"gateway":"gw-b","devices":[{}]}', retain=True
        )
        a.publish(f"{ROOT}/site-a/gw-b/status", b'{"state":"offline","ts":1}', retain=True)
        a.publish(f"{ROOT}/site-a/gw-a/readings", b"own")  # its own topic works
        wait_for(lambda: any(t == f"{ROOT}/site-a/gw-a/readings" for t, _ in ingest.messages), 5)
        time.sleep(0.5)
        got = [t for t, _ in ingest.messages if not t.startswith("$SYS/")]
        assert got == [f"{ROOT}/site-a/gw-b/meta", f"{ROOT}/site-a/gw-a/readings"], got
        meta = next(p for t, p in ingest.messages if t.endswith("/meta"))
        assert meta == b'{"v":1,"gateway":"gw-b","devices":[]}'
        assert any(t == "$SYS/broker/version" for t, _ in ingest.messages)  # the ingest's only
        # ... and A heard nothing of B's topics nor of $SYS.
        assert a.messages == []
    finally:
        for client in (ingest, a, b):
            client.close()


def test_no_account_can_take_over_the_ingests_session(secured: Secured) -> None:
    ingest = Client(
        secured, "ingest", secured.passwords["ingest"], client_id="campus-ingest", clean=False
    )
    try:
        assert _connected(ingest)
        ingest.subscribe(f"{ROOT}/#")
        # A gateway's account presents the ingest's client id: the broker uses its account
        # name instead, so the ingest stays connected and still gets the alarm.
        intruder = Client(
            secured,
            "site-a/gw-a",
            secured.passwords["site-a/gw-a"],
            client_id="campus-ingest",
            clean=False,
        )
        assert _connected(intruder)
        intruder.publish(f"{ROOT}/site-a/gw-a/readings", b"smoke!")
        wait_for(lambda: ingest.messages, 5)
        assert not ingest.lost.is_set()
        intruder.close()
    finally:
        ingest.close()


def test_a_rotated_password_stops_the_old_one_after_sighup(
    secured: Secured, tmp_path: Path
) -> None:
    accounts = ("--passwd", str(secured.files.passwd), "--acl", str(secured.files.acl))
    old = secured.passwords["site-a/gw-b"]
    new = _broker_cli("add-gateway", "site-a", "gw-b", *accounts).strip()
    secured.passwords["site-a/gw-b"] = new
    assert new != old
    line = next(
        ln for ln in secured.files.passwd.read_text().splitlines() if ln.startswith("site-a/gw-b:")
    )
    assert verify_password(new, line.split(":", 1)[1])
    assert secured.files.passwd.read_text().count("site-a/gw-a:") == 1  # the others kept
    secured.server.reload()
    time.sleep(0.5)
    stale, fresh = Client(secured, "site-a/gw-b", old), Client(secured, "site-a/gw-b", new)
    try:
        assert not _connected(stale)
        assert _connected(fresh)
    finally:
        stale.close()
        fresh.close()


class _PlainToTlsPort(Client):
    """A plain MQTT client aimed at the TLS listener."""

    def __init__(self, secured: Secured, password: str) -> None:
        tls_port = secured.server.tls_port
        assert tls_port is not None
        plain = MosquittoServer.__new__(MosquittoServer)
        plain.port, plain.tls_port = tls_port, None
        super().__init__(Secured(plain, secured.files, secured.passwords), "site-a/gw-a", password)


def _tls(ca: Path) -> ssl.SSLContext:
    return TlsConfig(ca_file=ca).context()


def test_the_tls_listener_refuses_plain_mqtt_and_a_wrong_ca(
    secured: Secured, tmp_path: Path
) -> None:
    make_certificates(tmp_path / "other", ["127.0.0.1"])  # someone else's CA
    password = secured.passwords["site-a/gw-a"]
    plain = _PlainToTlsPort(secured, password)
    try:
        assert not _connected(plain)  # the TLS port does not speak plain MQTT
    finally:
        plain.close()
    wrong = Client(secured, "site-a/gw-a", password, tls=_tls(tmp_path / "other" / "ca.crt"))
    right = Client(secured, "site-a/gw-a", password, tls=_tls(secured.files.ca))
    try:
        assert not _connected(wrong)
        assert _connected(right)
    finally:
        wrong.close()
        right.close()


def test_a_gateway_and_the_ingest_over_tls_store_readings(
    secured: Secured, tmp_path: Path, influxd: InfluxServer
) -> None:
    """The gateway's uplink and the ingest, both on the TLS listener with their accounts."""
    from gateway.app import GatewayApp  # noqa: PLC0415
    from gateway.config import GatewayConfig  # noqa: PLC0415
    from tests.gateway.harness import gateway_config, simulated  # noqa: PLC0415

    port = secured.server.tls_port
    config = config_dict(tmp_path / "state", secured.server, influxd, topic_root=ROOT)
    config["site"]["also_serves"] = ["site-a"]
    config["mqtt"] |= {
        "port": port,
        "username": "ingest",
        "password": secured.passwords["ingest"],
        "tls": {"ca_file": str(secured.files.ca)},
    }
    service = IngestService(IngestConfig.model_validate(config))
    service.start()
    gw = gateway_config(tmp_path, port, ROOT, [simulated(2, 0.5)])  # type: ignore[arg-type]
    gw["gateway"] = {"id": "gw-a", "site": "site-a"}
    gw["uplink"] |= {
        "username": "site-a/gw-a",
        "password": secured.passwords["site-a/gw-a"],
        "tls": {"ca_file": str(secured.files.ca)},
    }
    app = GatewayApp(GatewayConfig.model_validate(gw), {})
    app.start()
    try:
        assert service.wait_ready()
        wait_for(lambda: app.uplink.connected, 10)
        wait_for(lambda: service.writer.healthy and _stored(service) >= 4, 20)
    finally:
        app.stop()
        service.stop()
    assert service.registry.gateway_status()[("site-a", "gw-a")] == "stopped"


def _stored(service: IngestService) -> int:
    rows = service.influx.query("SELECT count(celsius) FROM temperature")
    return int(rows[0]["count"]) if rows else 0


def test_the_shipped_config_is_the_one_tested() -> None:
    shipped = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto" / "mosquitto.conf"
    lines = shipped.read_text().splitlines()
    for key in (
        "allow_anonymous false",
        "use_username_as_clientid true",
        "password_file ",
        "acl_file ",
        "message_size_limit ",
        "listener 8883",
    ):
        assert any(line.startswith(key) for line in lines), key


def test_rewriting_the_accounts_keeps_the_files_readable_by_the_broker(tmp_path: Path) -> None:
    import os  # noqa: PLC0415

    from ingest.broker.accounts import add_gateway  # noqa: PLC0415

    passwd, acl = tmp_path / "passwd", tmp_path / "acl"
    add_gateway("s1", "gw-1", passwd, acl)
    for path in (passwd, acl):
        os.chown(path, os.getuid(), 4242)  # the install gives them to the broker's group
        path.chmod(0o640)
    add_gateway("s1", "gw-2", passwd, acl)
    for path in (passwd, acl):
        assert (path.stat().st_gid, path.stat().st_mode & 0o777) == (4242, 0o640)
