"""The FastAPI application factory."""

from __future__ import annotations

from fastapi import FastAPI
from prometheus_client import make_asgi_app

from ingest.api.routes import devices, health
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
    api.mount("/metrics", make_asgi_app(registry=service.metrics.registry))
    return api
