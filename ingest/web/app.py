"""The service's web app: the HTTP API, its OpenAPI docs (served offline), Prometheus
metrics and the patrol console."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ingest.app import IngestService
from ingest.rules.errors import AlertConflict, AlertForbidden, AlertNotFound
from ingest.web.api import (
    alerts,
    cameras,
    devices,
    duty,
    duty_ledgers,
    duty_records,
    health,
    reports,
    session,
)
from ingest.web.console.app import connect_feed, install_console
from ingest.web.deps import Viewer, has_credentials, may_upload
from ingest.web.limits import RequestLimits

DOCS_ASSETS = "/docs-assets"


def create_api(service: IngestService) -> FastAPI:
    """Build the web app of ``service``; OpenAPI docs at ``/docs``, metrics at ``/metrics``,
    the console at ``/``."""
    feed = None

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        assert feed is not None
        feed.start()
        disconnect = connect_feed(service, feed)
        try:
            yield
        finally:
            disconnect()
            feed.stop()

    api = FastAPI(
        title="campuswatch",
        summary="Campus IoT monitoring: devices, alerts and reports",
        version="1",
        docs_url=None,  # the default pages load Swagger UI from a CDN: see /docs below
        redoc_url=None,
        lifespan=lifespan,
    )
    api.state.service = service
    for module, tag in (
        (health, "health"),
        (session, "session"),
        (devices, "devices"),
        (alerts, "alerts"),
        (reports, "reports"),
        (cameras, "cameras"),
        (duty, "duty"),
        (duty_records, "duty"),
        (duty_ledgers, "duty"),
    ):
        api.include_router(module.router, tags=[tag])
    feed = install_console(api, service)
    _add_refusals(api)
    _add_docs(api)
    limits = service.config.api
    api.add_middleware(
        RequestLimits,
        max_body=limits.max_body_kb << 10,
        body_timeout_s=limits.body_timeout.total_seconds(),
        authenticated=lambda headers: has_credentials(service, headers),
        refused=lambda reason: service.metrics.http_refused.labels(reason).inc(),
        uploads=frozenset({"/duty/workorders"}),
        max_upload=limits.max_upload_kb << 10,
        uploader=lambda headers: may_upload(service, headers),
    )

    @api.get("/metrics", include_in_schema=False)
    def metrics(_caller: Viewer) -> Response:
        """Prometheus text exposition of the service's metrics, for a bearer token (or a
        session): they tell an outsider which gateways and devices there are."""
        return Response(generate_latest(service.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return api


def _add_refusals(api: FastAPI) -> None:
    """What an API caller gets when an alert cannot be had or acknowledged (the console's
    routes catch these themselves and answer with a page)."""

    @api.exception_handler(AlertNotFound)
    def not_found(_request: Request, exc: AlertNotFound) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @api.exception_handler(AlertConflict)
    def conflict(_request: Request, exc: AlertConflict) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=409)

    @api.exception_handler(AlertForbidden)
    def forbidden(_request: Request, exc: AlertForbidden) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=403)


def _add_docs(api: FastAPI) -> None:
    """``/docs`` with Swagger UI from this service (a campus LAN may have no Internet)."""
    api.mount(
        DOCS_ASSETS, StaticFiles(packages=[("ingest.web", "docs_assets")]), name="docs-assets"
    )

    @api.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="campuswatch API",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon-32x32.png",
            swagger_ui_parameters={"validatorUrl": None},
        )
