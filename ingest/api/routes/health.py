"""``GET /api/health``: answers 200 whenever the service runs."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from ingest.api.deps import ServiceDep

router = APIRouter()


class Health(BaseModel):
    """Whether the broker and the database are reachable."""

    status: str
    mqtt: bool
    influx: bool
    spool_bytes: int


@router.get("/api/health")
def health(service: ServiceDep) -> Health:
    """Service health; ``degraded`` while MQTT or InfluxDB is unreachable."""
    return Health.model_validate(service.health())
