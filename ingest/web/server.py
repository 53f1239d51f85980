"""The uvicorn server of ``campus-ingest run``: HTTP or HTTPS, with the request limits of
``api`` (header deadline, concurrency) set on the connection layer."""

from __future__ import annotations

import uvicorn

from ingest.app import IngestService
from ingest.web.app import create_api
from ingest.web.limits import GuardedH11Protocol


def make_server(service: IngestService) -> uvicorn.Server:
    """A server for ``service``'s web app, as its ``api`` section says."""
    api = service.config.api
    tls = api.tls
    refused = service.metrics.http_refused

    class Protocol(GuardedH11Protocol):
        header_timeout_s = api.header_timeout.total_seconds()
        on_timeout = staticmethod(lambda: refused.labels("header_timeout").inc())
        max_per_address = api.max_connections_per_address
        on_too_many = staticmethod(lambda: refused.labels("connections_per_address").inc())
        open_per_address: dict[str, int] = {}  # noqa: RUF012 (this server's own)

    return uvicorn.Server(
        uvicorn.Config(
            create_api(service),
            host=api.host,
            port=api.port,
            http=Protocol,
            limit_concurrency=api.max_connections,
            log_level="warning",
            access_log=False,
            # Open consoles hold a stream each: at shutdown they get 5 s, then are closed.
            timeout_graceful_shutdown=5,
            ssl_certfile=str(tls.cert_file) if tls else None,
            ssl_keyfile=str(tls.key_file) if tls else None,
        )
    )
