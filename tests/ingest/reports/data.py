"""Synthetic meter and fridge histories written straight into a real InfluxDB.

Each generator states its pattern so the tests can compute the answers by hand.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from campuswatch.protocol import DeviceInfo
from ingest.registry import Registry
from ingest.storage.influx import InfluxClient
from ingest.storage.lineprotocol import encode_point

TZ = ZoneInfo("Asia/Shanghai")
SITE, GATEWAY = "sunshine-kg", "gw-meter-room"


def local(text: str) -> datetime:
    """``2026-11-16 08:00`` in Shanghai time."""
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def every(start: datetime, end: datetime, step: timedelta) -> Iterator[datetime]:
    """``start``, ``start + step`` ... before ``end``."""
    t = start
    while t < end:
        yield t
        t += step


def counter(
    times: Iterator[datetime],
    step_use: Callable[[datetime], float],
    *,
    start: float = 0.0,
    override: dict[datetime, float] | None = None,
) -> list[tuple[datetime, float]]:
    """A cumulative counter: each reading adds ``step_use(t)``; ``override`` sets a value
    (a reset or a new meter), from which the counting goes on."""
    value, points = start, []
    for t in times:
        value = override[t] if override and t in override else value + step_use(t)
        points.append((t, round(value, 6)))
    return points


def write(
    client: InfluxClient,
    kind: str,
    device: str,
    field: str,
    points: list[tuple[datetime, float]],
    tags: dict[str, str] | None = None,
) -> None:
    """Store the points as the ingest would (site, gateway, device and meta tags)."""
    all_tags = {"site": SITE, "gateway": GATEWAY, "device": device, **(tags or {})}
    lines = [encode_point(kind, all_tags, {field: v}, int(t.timestamp() * 1000)) for t, v in points]
    for i in range(0, len(lines), 5000):
        client.write("\n".join(lines[i : i + 5000]).encode())


def announce(registry: Registry, devices: list[DeviceInfo]) -> None:
    """The gateway's meta message, as the registry would receive it."""
    registry.update_meta(SITE, GATEWAY, devices)
