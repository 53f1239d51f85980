"""``GET /api/health``: answers 200 whenever the service runs."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from ingest.web.deps import ServiceDep

router = APIRouter()


class Health(BaseModel):
    """Whether the broker and the database are reachable."""

    status: str
    mqtt: bool
    influx: bool
    # Why the status is degraded besides the broker and the database: writes that fail
    # (a full disk), each as "part: reason".
    problems: list[str]
    spool_bytes: int
    # Hours of rollups and meter buckets that changed (late data) and wait to be recomputed.
    derived_hours_waiting: int
    # Seconds the oldest pending work of each stage has waited (consumer, writer, held,
    # derived, rules, rollups, channel NAME); past its watchdog limit a stage is a problem.
    stages: dict[str, float]
    # Refused input since start by reason (bad payloads, limits reached): see /metrics.
    refused: dict[str, int]


@router.get("/api/health")
def health(service: ServiceDep) -> Health:
    """Service health; ``degraded`` while MQTT or InfluxDB is unreachable or a write of
    the service fails (``problems`` says which and why)."""
    return Health.model_validate(service.health())
