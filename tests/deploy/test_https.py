"""The API and console over HTTPS (``api.tls``), with a certificate of the campus CA that
``campus-ingest broker certs`` makes: phones that trust the CA connect, plain HTTP does not,
and the session cookie is ``Secure``."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx
import pytest

from demo.services import InfluxServer, MosquittoServer
from ingest.broker.certs import make_certificates
from tests.harness import IngestProcess, config_dict
from tests.ingest.web.console.web import csrf_of


def test_the_console_over_https(
    tmp_path: Path, broker: MosquittoServer, influxd: InfluxServer
) -> None:
    tls = tmp_path / "tls"
    make_certificates(tls, ["127.0.0.1", "watch.example-kg.cn"])
    config = config_dict(tmp_path / "state", broker, influxd)
    config["api"]["tls"] = {
        "cert_file": str(tls / "server.crt"),
        "key_file": str(tls / "server.key"),
    }
    trust = ssl.create_default_context(cafile=str(tls / "ca.crt"))
    ingest = IngestProcess(config, tmp_path, verify=trust)
    ingest.start()
    try:
        assert ingest.api.startswith("https://")
        with httpx.Client(base_url=ingest.api, verify=trust) as phone:
            assert phone.get("/api/health").status_code == 200
            form = phone.get("/login")
            assert "Secure" in form.headers["set-cookie"]  # the anonymous cookie already
            answer = phone.post(
                "/login", data={"csrf": csrf_of(form.text), "login": "x", "password": "y"}
            )
            assert answer.status_code == 401
        with pytest.raises(httpx.HTTPError):  # not trusted without the campus CA
            httpx.get(f"{ingest.api}/api/health")
        with pytest.raises(httpx.HTTPError):  # and no plain HTTP on the port
            httpx.get(ingest.api.replace("https://", "http://") + "/api/health")
    finally:
        ingest.stop()
