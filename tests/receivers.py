"""Real receivers for notifications: an HTTP server and an SMTP server on free ports."""

from __future__ import annotations

import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from demo.services import free_port


@dataclass
class Request:
    """One request the HTTP receiver got."""

    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    at: float = field(default_factory=time.perf_counter)  # when it arrived


@dataclass
class HttpReceiver:
    """Records JSON POSTs; ``status`` and ``answer`` choose the reply (503 = "down")."""

    port: int
    requests: list[Request] = field(default_factory=list)
    status: int = 200
    answer: dict[str, Any] = field(default_factory=lambda: {"errcode": 0, "errmsg": "ok"})
    # Per message type: a robot that takes text but refuses an image (``{"image": {...}}``).
    answer_by_msgtype: dict[str, dict[str, Any]] = field(default_factory=dict)

    def url(self, path: str = "/hook") -> str:
        """URL of ``path`` on this receiver."""
        return f"http://127.0.0.1:{self.port}{path}"

    def bodies(self) -> list[Any]:
        """The JSON bodies of the requests that were answered 2xx."""
        return [r.body for r in self.requests if r.headers.get("x-accepted") == "yes"]


@contextmanager
def http_receiver() -> Iterator[HttpReceiver]:
    """Run an HTTP receiver in a thread."""
    receiver = HttpReceiver(free_port())

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            raw = self.rfile.read(length)
            split = urlsplit(self.path)
            headers = {k.lower(): v for k, v in self.headers.items()}
            status = receiver.status
            headers["x-accepted"] = "yes" if status < 300 else "no"
            query = {k: v[0] for k, v in parse_qs(split.query).items()}
            body = orjson.loads(raw)
            receiver.requests.append(Request(split.path, query, headers, body))
            msgtype = body.get("msgtype") if isinstance(body, dict) else None
            reply = orjson.dumps(receiver.answer_by_msgtype.get(msgtype, receiver.answer))
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", receiver.port), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class SmtpReceiver:
    """Messages an SMTP server accepted."""

    port: int
    messages: list[tuple[Envelope, Message]] = field(default_factory=list)


class _Collect:
    def __init__(self, receiver: SmtpReceiver) -> None:
        self.receiver = receiver

    async def handle_DATA(self, _server: SMTP, _session: Session, envelope: Envelope) -> str:  # noqa: N802
        content = envelope.original_content or b""
        self.receiver.messages.append((envelope, message_from_bytes(content)))
        return "250 OK"


def self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 made with openssl (cert, key)."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@contextmanager
def smtp_receiver(tls: tuple[Path, Path] | None = None) -> Iterator[SmtpReceiver]:
    """Run an aiosmtpd server; with ``tls`` it offers STARTTLS and requires it."""
    receiver = SmtpReceiver(free_port())
    kwargs: dict[str, Any] = {}
    if tls:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(tls[0]), str(tls[1]))
        kwargs = {"tls_context": context, "require_starttls": True}
    controller = Controller(_Collect(receiver), hostname="127.0.0.1", port=receiver.port, **kwargs)
    controller.start()
    try:
        yield receiver
    finally:
        controller.stop()
