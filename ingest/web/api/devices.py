"""``GET /api/devices``: every device with its last values and whether it is online."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter
from pydantic import BaseModel

from campuswatch.clock import local_time
from ingest.web.deps import ServiceDep, Viewer

router = APIRouter()


class Device(BaseModel):
    """One device as the patrol sees it."""

    device: str
    kind: str
    gateway: str
    site: str
    name: str | None
    tags: dict[str, str]
    interval_s: int
    online: bool
    last_seen: datetime | None
    values: dict[str, Any]


@router.get("/api/devices")
def list_devices(service: ServiceDep, _token: Viewer) -> list[Device]:
    """All devices, also those known only from meta (``last_seen`` null)."""
    tz = ZoneInfo(service.config.site.timezone)
    devices = []
    for row in service.registry.device_rows():
        seen_ms = row.pop("last_seen_ms")
        seen = local_time(seen_ms, tz) if seen_ms else None
        devices.append(Device(last_seen=seen, **row))
    devices.sort(key=lambda d: (d.gateway, d.device))
    return devices
