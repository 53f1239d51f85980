"""Camera snapshots: the latest of a camera, or one by id (viewer, or a signed link)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, status
from fastapi.responses import FileResponse

from ingest.api.deps import Credentials, ServiceDep, authorize
from ingest.snapshots import StoredSnapshot

router = APIRouter()
SnapshotId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$")]
SigQuery = Annotated[str | None, Query(description="signature of a link from a notification")]


def _image(snapshot: StoredSnapshot | None, what: str) -> FileResponse:
    if snapshot is None or not snapshot.path.exists():
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no snapshot {what}")
    return FileResponse(
        snapshot.path,
        media_type="image/jpeg",
        headers={"X-Snapshot-Id": snapshot.id, "Cache-Control": "private, max-age=86400"},
    )


@router.get("/api/cameras/{device}/snapshots/latest", response_class=FileResponse)
def latest_snapshot(device: str, service: ServiceDep, credentials: Credentials) -> FileResponse:
    """The newest snapshot of a camera (JPEG; its id in ``X-Snapshot-Id``)."""
    authorize(service, credentials, "viewer")
    return _image(service.snapshots.latest(device), f"of camera {device!r} yet")


@router.get("/api/snapshots/{snapshot_id}", response_class=FileResponse)
def snapshot(
    snapshot_id: SnapshotId, service: ServiceDep, credentials: Credentials, sig: SigQuery = None
) -> FileResponse:
    """One snapshot by the id its camera reading carried (JPEG)."""
    if not service.links.check(sig, "snapshot", snapshot_id):
        authorize(service, credentials, "viewer")
    return _image(service.snapshots.get(snapshot_id), f"with id {snapshot_id!r}")
