"""What a client may cost the service before it is refused (issue: request limits).

:class:`RequestLimits` is ASGI middleware that answers before the app reads a body that is
too big (413), before an unauthenticated client's write to ``/api/`` is read at all (401),
and when a body trickles in slower than ``body_timeout`` (408).
:class:`GuardedH11Protocol` closes connections that do not finish their request headers
within ``header_timeout`` (uvicorn arms no timer before the first request, so a client
sending headers a byte at a time could hold a connection for as long as it liked), and
answers 503 to a client address that already holds ``max_connections_per_address``
connections, so one client cannot take every connection (and ``/api/health``) away.
Every refusal is counted in ``campus_http_refused{reason}``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import h11
import orjson
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger(__name__)

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_TOO_MANY = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"connection: close\r\ncontent-length: 40\r\n\r\n"
    b"too many connections from this address\r\n"
)


class RequestLimits:
    """Refuse oversized, unauthenticated and slow request bodies before reading them."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body: int,
        body_timeout_s: float,
        authenticated: Callable[[Headers], bool],
        refused: Callable[[str], None],
        uploads: frozenset[str] = frozenset(),
        max_upload: int = 0,
        uploader: Callable[[Headers], bool] = lambda _headers: False,
    ) -> None:
        self.app = app
        self.max_body = max_body
        # Paths a guard or admin (``uploader``: their session) may POST a photo to, up to
        # ``max_upload`` bytes.
        self.uploads = uploads
        self.max_upload = max_upload
        self.uploader = uploader
        self.body_timeout_s = body_timeout_s
        self.authenticated = authenticated  # a valid bearer token or session cookie
        self.refused = refused  # counts a refusal by reason

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        length = headers.get("content-length", "0")
        limit = self.max_body
        if scope["path"] in self.uploads and scope["method"] == "POST" and self.uploader(headers):
            limit = self.max_upload
        if not (length.isascii() and length.isdigit()) or int(length) > limit:
            await self.refuse(send, 413, "body_too_large", self.too_large())
            return
        writes = scope["method"] not in _SAFE_METHODS
        if writes and scope["path"].startswith("/api/") and not self.authenticated(headers):
            detail = "missing or unknown bearer token (or session)"
            await self.refuse(send, 401, "unauthenticated_body", detail)
            return
        await _Guarded(self, receive, send, limit).run(scope)

    def too_large(self) -> str:
        """Why a body is refused as too large."""
        return (
            f"the request body is larger than {self.max_body} bytes (api.max_body_kb; a"
            f" repair's photo, logged in: {self.max_upload} bytes, api.max_upload_kb)"
        )

    async def refuse(self, send: Send, status: int, reason: str, detail: str) -> None:
        """Answer ``status`` with ``detail`` (the FastAPI error shape) and count it."""
        self.refused(reason)
        body = orjson.dumps({"detail": detail})
        headers = [
            (b"content-type", b"application/json"),
            (b"connection", b"close"),
            (b"content-length", str(len(body)).encode()),
        ]
        if status == 401:
            headers.append((b"www-authenticate", b"Bearer"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class _Guarded:
    """One request: its body counted and timed as the app reads it; once refused, what
    the app still sends is dropped (the client has its answer)."""

    def __init__(self, limits: RequestLimits, receive: Receive, send: Send, limit: int) -> None:
        self.limits = limits
        self.limit = limit  # bytes this request's body may have
        self._receive = receive
        self._send = send
        self.received = 0
        self.answered = False  # the response has started (by the app or by a refusal)
        self.refused = False
        self.body_done = False  # the whole body has come: the deadline is over

    async def run(self, scope: Scope) -> None:
        await self.limits.app(scope, self.receive, self.send)

    async def receive(self) -> Message:
        if self.body_done or self.answered:
            # Only the client's going away is left to hear of (a live stream listens for
            # it for hours): no deadline, or the stream would be cut at the body's.
            return await self._receive()
        try:
            message = await asyncio.wait_for(self._receive(), self.limits.body_timeout_s)
        except TimeoutError:
            detail = f"the request body did not arrive within {self.limits.body_timeout_s:g} s"
            return await self._refuse(408, "body_timeout", detail)
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            self.body_done = not message.get("more_body", False)
            if self.received > self.limit:  # chunked, or a lying Content-Length
                return await self._refuse(413, "body_too_large", self.limits.too_large())
        return message

    async def send(self, message: Message) -> None:
        if self.refused:
            return
        if message["type"] == "http.response.start":
            self.answered = True
        await self._send(message)

    async def _refuse(self, status: int, reason: str, detail: str) -> Message:
        if not self.answered:
            await self.limits.refuse(self._send, status, reason, detail)
        self.refused = self.answered = True
        return {"type": "http.disconnect"}


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request's headers."""

    header_timeout_s = 10.0
    on_timeout: Callable[[], None] = staticmethod(lambda: None)
    max_per_address = 64
    on_too_many: Callable[[], None] = staticmethod(lambda: None)
    # Open connections by client address, of one server (each server makes a subclass
    # with a dict of its own; the event loop's one thread is the only one that uses it).
    open_per_address: dict[str, int] = {}  # noqa: RUF012

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None
        self._address: str | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        address = self.client[0] if self.client else ""
        held = self.open_per_address.get(address, 0)
        if held >= self.max_per_address:
            log.warning("refused a connection from %s: it holds %d already", address, held)
            self.on_too_many()
            transport.write(_TOO_MANY)
            transport.close()
            return
        self.open_per_address[address] = held + 1
        self._address = address
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is h11.IDLE:
            self._arm()  # waiting for (more of) a request's headers (idle: keep-alive's)
        else:
            self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._address is not None:
            left = self.open_per_address.get(self._address, 1) - 1
            if left > 0:
                self.open_per_address[self._address] = left
            else:
                self.open_per_address.pop(self._address, None)
            self._address = None
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout_s, self._expired)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _expired(self) -> None:
        self._header_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            log.warning(
                "closed a connection from %s: no complete request headers within %g s",
                self.client,
                self.header_timeout_s,
            )
            self.on_timeout()
            self.transport.close()
