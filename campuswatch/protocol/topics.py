"""The topics of wire protocol version 1: ``ROOT/SITE/GW/CHANNEL[/...]``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from campuswatch.protocol.kinds import ID_RE

# The channels of one topic each per gateway; camera snapshots have a topic per picture.
CHANNELS = ("readings", "meta", "status", "edge")
SNAPSHOTS = "snapshots"


def readings_topic(root: str, site: str, gateway: str) -> str:
    """Topic a gateway publishes readings envelopes to."""
    return f"{root}/{site}/{gateway}/readings"


def meta_topic(root: str, site: str, gateway: str) -> str:
    """Retained topic holding a gateway's device registry."""
    return f"{root}/{site}/{gateway}/meta"


def status_topic(root: str, site: str, gateway: str) -> str:
    """Retained topic holding a gateway's online/offline status (and its last will)."""
    return f"{root}/{site}/{gateway}/status"


def snapshot_topic(root: str, site: str, gateway: str, device: str, snapshot_id: str) -> str:
    """Topic of one camera snapshot (a JPEG) that a camera reading refers to."""
    return f"{root}/{site}/{gateway}/snapshots/{device}/{snapshot_id}"


class DeviceRef(NamedTuple):
    """One device anywhere: the site and gateway it is reached through (its topics) and
    its id. Every store of the ingest keys its devices by it; it equals the plain tuple
    ``(site, gateway, device)``, so a hot path may look one up without building it."""

    site: str
    gateway: str
    device: str


@dataclass(frozen=True, slots=True)
class Topic:
    """A parsed campuswatch topic: ROOT/SITE/GW/CHANNEL[/...]."""

    site: str
    gateway: str
    channel: str
    rest: tuple[str, ...] = ()


def parse_topic(root: str, topic: str) -> Topic | None:
    """Split a topic under ``root``; None when it is not a well-formed campuswatch topic."""
    parts = topic.split("/")
    root_parts = root.split("/")
    n = len(root_parts)
    if len(parts) < n + 3 or parts[:n] != root_parts:
        return None
    site, gateway, channel = parts[n], parts[n + 1], parts[n + 2]
    if not (ID_RE.fullmatch(site) and ID_RE.fullmatch(gateway)):
        return None
    return Topic(site, gateway, channel, tuple(parts[n + 3 :]))
