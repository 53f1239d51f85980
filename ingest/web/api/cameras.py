"""Camera snapshots: the latest of a camera, or one by camera and id (viewer, or the signed
link of a notification)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request, status
from fastapi.responses import FileResponse

from campuswatch.clock import now_ms
from campuswatch.protocol import DeviceRef
from ingest.app import IngestService
from ingest.rules.links import snapshot_link_alive, snapshot_signed
from ingest.storage.snapshots import SNAPSHOT_ID, StoredSnapshot
from ingest.web.deps import Credentials, ServiceDep, authorize

router = APIRouter()
SnapshotId = Annotated[str, Path(pattern=SNAPSHOT_ID.pattern)]
SigQuery = Annotated[str | None, Query(description="signature of a link from a notification")]
Site = Annotated[str | None, Query(description="the camera's site, when the id is not unique")]
Gateway = Annotated[
    str | None, Query(description="the camera's gateway, when the id is not unique")
]


def _image(snapshot: StoredSnapshot | None, what: str) -> FileResponse:
    if snapshot is None or not snapshot.path.exists():
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no snapshot {what}")
    return FileResponse(
        snapshot.path,
        media_type="image/jpeg",
        headers={"X-Snapshot-Id": snapshot.id, "Cache-Control": "private, max-age=86400"},
    )


@router.get("/api/cameras/{device}/snapshots/latest", response_class=FileResponse)
def latest_snapshot(
    request: Request,
    device: str,
    service: ServiceDep,
    credentials: Credentials,
    site: Site = None,
    gateway: Gateway = None,
) -> FileResponse:
    """The newest snapshot of a camera (JPEG; its id in ``X-Snapshot-Id``)."""
    authorize(request, service, credentials, "viewer")
    cameras = [
        c
        for c in service.snapshots.cameras(device)
        if site in (None, c.site) and gateway in (None, c.gateway)
    ]
    if len(cameras) > 1:
        where = ", ".join(f"{c.site}/{c.gateway}" for c in cameras)
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"cameras named {device!r} are on several gateways ({where}): give site and gateway",
        )
    snapshot = service.snapshots.latest(cameras[0]) if cameras else None
    return _image(snapshot, f"of camera {device!r} yet")


def _link_opens(
    service: IngestService, found: StoredSnapshot | None, sig: str | None, alert: int | None
) -> bool:
    if found is None or alert is None:
        return False
    if not service.links.check_link(sig, *snapshot_signed(found), str(alert)):
        return False
    return snapshot_link_alive(service.alerts.alert(alert), now_ms(service.clock))


@router.get("/api/snapshots/{site}/{gateway}/{device}/{snapshot_id}", response_class=FileResponse)
def snapshot(
    request: Request,
    site: str,
    gateway: str,
    device: str,
    snapshot_id: SnapshotId,
    service: ServiceDep,
    credentials: Credentials,
    sig: SigQuery = None,
    alert: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> FileResponse:
    """One snapshot by its camera and the id its camera reading carried (JPEG); without
    a token, through the link of the ``alert`` it was sent with, while that alert lasts."""
    found = service.snapshots.get(DeviceRef(site, gateway, device), snapshot_id)
    if not _link_opens(service, found, sig, alert):
        authorize(request, service, credentials, "viewer")
    return _image(found, f"{snapshot_id!r} of camera {device!r} on {site}/{gateway}")
