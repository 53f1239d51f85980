"""The FastAPI application factory."""

from __future__ import annotations

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ingest.api.routes import alerts, cameras, devices, health, reports
from ingest.app import IngestService


def create_api(service: IngestService) -> FastAPI:
    """Build the API of ``service``; OpenAPI docs at ``/docs``, Prometheus at ``/metrics``."""
    api = FastAPI(
        title="campuswatch",
        summary="Campus IoT monitoring: devices, alerts and reports",
        version="1",
    )
    api.state.service = service
    api.include_router(health.router, tags=["health"])
    api.include_router(devices.router, tags=["devices"])
    api.include_router(alerts.router, tags=["alerts"])
    api.include_router(reports.router, tags=["reports"])
    api.include_router(cameras.router, tags=["cameras"])

    @api.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        """Prometheus text exposition of the service's metrics."""
        return Response(generate_latest(service.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return api
