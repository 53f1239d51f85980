"""The demo patrol's "phone": a webhook receiver that prints each notification with its
ack link, so the link can be opened and the alert acknowledged without logging in."""

from __future__ import annotations

import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson

from demo.services import free_port


class Inbox:
    """Receives the webhook channel's POSTs on a free port and prints them."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[dict[str, Any]] = []
        inbox = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                try:
                    body = orjson.loads(self.rfile.read(length))
                except orjson.JSONDecodeError:
                    body = {}
                self.send_response(200)
                self.end_headers()
                if isinstance(body, dict):
                    inbox.show(body)

            def log_message(self, *_args: object) -> None:
                pass  # the demo prints what arrived instead

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The webhook URL of the patrol channel."""
        return f"http://127.0.0.1:{self.port}/patrol"

    def start(self) -> None:
        """Start receiving."""
        self._thread.start()

    def stop(self) -> None:
        """Stop receiving."""
        self._server.shutdown()
        self._server.server_close()

    def show(self, body: dict[str, Any]) -> None:
        """Print one notification (and its ack link while it can be acknowledged)."""
        self.received.append(body)
        line = f"  NOTIFY     {body.get('title')}: {body.get('message', '').splitlines()[0]}"
        if body.get("ack_url"):
            line += f"\n             acknowledge from a phone: {body['ack_url']}"
        sys.stdout.write(line + "\n")  # one write: the demo's other lines do not cut in
        sys.stdout.flush()
