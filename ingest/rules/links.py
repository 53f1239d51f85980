"""Links a notification carries, added to its body before it is queued (in the alert's
transaction): ``ack_url``, the page that acknowledges the alert from a phone (while it can
be acknowledged, SPEC §5), and for a camera alert the snapshot it is about, signed so it
opens in a chat app that cannot send a token."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from campuswatch.clock import Clock
from campuswatch.notify.words import say
from campuswatch.protocol import DeviceRef
from ingest.health import Problems
from ingest.links import AckLinks, LinkKeyError, LinkSigner
from ingest.outbox import Notification
from ingest.registry import Registry
from ingest.rules.model import ACKABLE_STATES, Alert
from ingest.storage.snapshots import SnapshotError, SnapshotStore, StoredSnapshot

log = logging.getLogger(__name__)


class NotificationLinks:
    """Decorates notification bodies with the links of the alert they are about."""

    def __init__(
        self,
        registry: Registry,
        snapshots: SnapshotStore,
        signer: LinkSigner,
        ack_links: AckLinks,
        lang: str,
        clock: Clock,
        problems: Problems,
        snapshot_link_valid_s: int = 86_400,
    ) -> None:
        self.registry = registry
        self.problems = problems
        self.snapshot_link_valid_s = snapshot_link_valid_s
        self.snapshots = snapshots
        self.signer = signer
        self.ack_links = ack_links
        self.lang = lang
        self.clock = clock

    def __call__(self, alert: Alert, notification: Notification) -> Notification:
        """``notification`` with what ``alert``'s message links. A link that cannot be
        made (an unusable link key: a health problem) is left out; the alarm goes anyway."""
        parts: dict[str, Any] = {"ack_url": None}
        if notification.body["state"] in ACKABLE_STATES:
            try:
                parts["ack_url"] = self.ack_links.url(alert.id, self.clock.time())
            except LinkKeyError as exc:
                log.error("alert %d is told without its ack link: %s", alert.id, exc)
        if alert.kind == "camera":
            parts.update(self._snapshot_parts(alert, notification.body["message"]))
        return notification.with_parts(**parts)

    def _snapshot_parts(self, alert: Alert, message: str) -> dict[str, str]:
        """The snapshot's parts, or none: whatever fails there, the ack link stays."""
        try:
            parts = self._snapshot(alert, message)
        except (LinkKeyError, SnapshotError, OSError) as exc:
            log.error("alert %d is told without its snapshot link: %s", alert.id, exc)
            return {}
        except Exception:  # optional, like every link: the alarm goes without it
            log.exception("alert %d is told without its snapshot link", alert.id)
            what = "the last camera alarm's snapshot link could not be made: see the log"
            self.problems.report("snapshot links", what)
            return {}
        self.problems.clear("snapshot links")
        return parts

    def _snapshot(self, alert: Alert, message: str) -> dict[str, str]:
        # The id the camera's last event reading named (its JPEG is published before it),
        # else the newest snapshot kept.
        camera = DeviceRef(alert.site, alert.gateway, alert.device)
        device = self.registry.device(camera.site, camera.gateway, camera.device)
        named = device.values.get("snapshot") if device else None
        snapshot = self.snapshots.get(camera, named) if isinstance(named, str) else None
        snapshot = snapshot or self.snapshots.latest(camera)
        if snapshot is None:
            return {}
        url = signed_snapshot_url(self.signer, snapshot, alert.id, self.snapshot_link_valid_s)
        label = say("label.snapshot", self.lang)
        return {
            "snapshot": snapshot.id,
            "snapshot_url": url,
            "message": f"{message}\n{label}: {url}",
        }


LINK_AFTER_END_S = 3600  # a snapshot link still opens this long after its alert ended


def snapshot_link_alive(alert: Alert | None, now_ms: int) -> bool:
    """Whether a snapshot link of ``alert`` may still open its picture."""
    if alert is None:
        return False
    return alert.resolved_ms is None or now_ms - alert.resolved_ms < LINK_AFTER_END_S * 1000


def signed_snapshot_url(
    signer: LinkSigner, snapshot: StoredSnapshot, alert_id: int, valid_s: int
) -> str:
    """A link that opens ``snapshot`` without a login (a chat app, an ack-link page). Bound
    to the alert too: the picture (children at the gate) opens while the alert lasts and
    for LINK_AFTER_END_S after it, within the link's expiry."""
    signed = snapshot_signed(snapshot)
    alert = str(alert_id)
    return signer.url(snapshot_path(snapshot), {"alert": alert}, *signed, alert, valid_s=valid_s)


def snapshot_path(snapshot: StoredSnapshot) -> str:
    """The API path of one snapshot (``/api/snapshots/SITE/GATEWAY/DEVICE/ID``)."""
    camera = snapshot.camera
    device = quote(camera.device, safe="")
    return f"/api/snapshots/{camera.site}/{camera.gateway}/{device}/{snapshot.id}"


def snapshot_signed(snapshot: StoredSnapshot) -> tuple[str, ...]:
    """What a snapshot link's signature covers: the camera, the id and the picture's hash,
    so the link opens that very picture and no other."""
    camera = snapshot.camera
    return ("snapshot", camera.site, camera.gateway, camera.device, snapshot.id, snapshot.sha256)
