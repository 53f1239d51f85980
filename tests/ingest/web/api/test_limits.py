"""Request limits of ``campus-ingest run`` (the real uvicorn server), driven over raw
sockets as a hostile client would: bodies refused before they are read, headers and
bodies that trickle in cut off, every refusal counted."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from demo.services import InfluxServer, MosquittoServer
from tests.harness import VIEWER_AUTH, IngestProcess, config_dict, wait_for

GUARD = "Bearer guard-token-1"


@pytest.fixture(scope="module")
def ingest(
    tmp_path_factory: pytest.TempPathFactory, broker: MosquittoServer, influxd: InfluxServer
) -> Iterator[IngestProcess]:
    workdir = tmp_path_factory.mktemp("limits")
    config: dict[str, Any] = config_dict(workdir / "state", broker, influxd)
    config["api"].update(max_body_kb=16, header_timeout="2s", body_timeout="1s", max_connections=8)
    process = IngestProcess(config, workdir)
    process.start()
    yield process
    process.stop()


def _connect(ingest: IngestProcess) -> socket.socket:
    return socket.create_connection(("127.0.0.1", ingest.config["api"]["port"]), timeout=10)


def _answer(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def _post_head(length: int | None, auth: str | None = None, chunked: bool = False) -> bytes:
    lines = ["POST /api/alerts/1/ack HTTP/1.1", "Host: campus", "Content-Type: application/json"]
    if auth:
        lines.append(f"Authorization: {auth}")
    if length is not None:
        lines.append(f"Content-Length: {length}")
    if chunked:
        lines.append("Transfer-Encoding: chunked")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _refused(ingest: IngestProcess, reason: str) -> float:
    text = httpx.get(f"{ingest.api}/metrics", headers=VIEWER_AUTH).text
    for line in text.splitlines():
        if line.startswith(f'campus_http_refused_total{{reason="{reason}"}}'):
            return float(line.split()[-1])
    return 0.0


def test_an_unauthenticated_100_mb_body_is_refused_before_it_is_sent(
    ingest: IngestProcess,
) -> None:
    with _connect(ingest) as sock:
        sock.sendall(_post_head(100 << 20))  # the headers only: the body never comes
        answer = _answer(sock)
    assert answer.startswith(b"HTTP/1.1 413 ")  # bigger than any body: refused first
    with _connect(ingest) as sock:
        sock.sendall(_post_head(1000))
        answer = _answer(sock)
    assert answer.startswith(b"HTTP/1.1 401 ")
    assert b"www-authenticate: bearer" in answer.lower()
    assert _refused(ingest, "unauthenticated_body") >= 1
    assert _refused(ingest, "body_too_large") >= 1


def test_a_body_over_the_limit_is_refused_even_when_chunked(ingest: IngestProcess) -> None:
    with _connect(ingest) as sock:
        sock.sendall(_post_head(None, GUARD, chunked=True))
        chunk = b"x" * 8192
        for _ in range(3):  # 24 KiB where 16 are allowed, announced nowhere
            sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        answer = _answer(sock)
    assert answer.startswith(b"HTTP/1.1 413 ")
    health = httpx.get(f"{ingest.api}/api/health").json()
    assert health["refused"]["body_too_large"] >= 1


def test_headers_sent_slowly_are_cut_off(ingest: IngestProcess) -> None:
    before = _refused(ingest, "header_timeout")
    started = time.monotonic()
    with _connect(ingest) as sock:
        sock.sendall(b"GET /api/health HTTP/1.1\r\nHo")
        for byte in b"st: campus\r\nX-Slow: 1":
            try:
                sock.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                break
            time.sleep(0.2)
        assert _answer(sock) == b""  # closed without an answer
    assert time.monotonic() - started < 8  # the client wanted to take 4.4 s + forever
    assert _refused(ingest, "header_timeout") == before + 1


def test_a_body_sent_slowly_is_cut_off(ingest: IngestProcess) -> None:
    with _connect(ingest) as sock:
        sock.sendall(_post_head(100, GUARD) + b'{"note": ')
        answer = _answer(sock)  # nothing more comes from this client
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert _refused(ingest, "body_timeout") >= 1


def test_beyond_max_connections_requests_get_503(ingest: IngestProcess) -> None:
    idle = [_connect(ingest) for _ in range(8)]  # each holds a connection, saying nothing
    try:
        time.sleep(0.2)
        with _connect(ingest) as sock:
            sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: campus\r\n\r\n")
            answer = sock.recv(65536)
        assert answer.startswith(b"HTTP/1.1 503 ")
    finally:
        for sock in idle:
            sock.close()
    wait_for(lambda: httpx.get(f"{ingest.api}/api/health").status_code == 200, 10)


def test_normal_requests_pass(ingest: IngestProcess) -> None:
    answer = httpx.post(
        f"{ingest.api}/api/alerts/999/ack", json={"note": "ok"}, headers={"Authorization": GUARD}
    )
    assert answer.status_code == 404  # read, authenticated, and no such alert
    assert httpx.get(f"{ingest.api}/api/health").status_code == 200


def test_one_address_cannot_take_every_connection(
    tmp_path: Any, broker: MosquittoServer, influxd: InfluxServer
) -> None:
    """Item 7: 256 slow connections once took the web side (and /api/health) down."""
    config: dict[str, Any] = config_dict(tmp_path / "state", broker, influxd)
    config["api"].update(max_connections_per_address=16)
    process = IngestProcess(config, tmp_path)
    process.start()
    slow = []
    try:
        for _ in range(256):  # each sends half a request line and waits
            sock = _connect(process)
            sock.sendall(b"GET /api/hea")
            slow.append(sock)
        time.sleep(0.5)
        answers = [sock.recv(200) for sock in slow[16:]]
        assert all(a.startswith(b"HTTP/1.1 503 ") for a in answers)
        assert b"too many connections from this address" in answers[0]
        transport = httpx.HTTPTransport(local_address="127.0.0.2")
        with httpx.Client(transport=transport, timeout=5) as other:
            assert other.get(f"{process.api}/api/health").status_code == 200
            metrics = other.get(f"{process.api}/metrics", headers=VIEWER_AUTH).text
        assert 'campus_http_refused_total{reason="connections_per_address"} 240.0' in metrics
    finally:
        for sock in slow:
            sock.close()
        process.stop()
