"""Reading the hourly meter buckets back, one series per meter, with names from the registry."""

from __future__ import annotations

from dataclasses import dataclass, field

from ingest.registry import Registry
from ingest.storage.influx import InfluxClient, SeriesDevice, series_device
from ingest.storage.meter_hours import (
    COUNTERS,
    last_counters,
    usage_measurement,
)

UNITS = {"electricity": "kWh", "water": "m³"}


@dataclass(frozen=True, slots=True)
class Hour:
    """One stored bucket."""

    increase: float
    readings: int
    resets: int
    first: float
    last: float


@dataclass(slots=True)
class Meter:
    """A meter with its hourly buckets (epoch s of the hour's start → bucket)."""

    site: str
    gateway: str
    device: str
    kind: str
    name: str | None = None
    building: str | None = None
    interval_s: int = 60
    parent: str | None = None  # the meter (device id) this one is behind, a meta tag
    hours: dict[int, Hour] = field(default_factory=dict)

    def between(self, start_s: int, end_s: int) -> list[tuple[int, Hour]]:
        """The buckets in ``[start, end)`` in time order."""
        return sorted((t, h) for t, h in self.hours.items() if start_s <= t < end_s)


class MeterStore:
    """Loads meters and their buckets for a span of time."""

    def __init__(self, client: InfluxClient, registry: Registry) -> None:
        self.client = client
        self.registry = registry

    def load(self, start_s: int, end_s: int) -> list[Meter]:
        """Every meter known from meta or from data, with its buckets in ``[start, end)``."""
        meters = self._known()
        for kind in COUNTERS:
            measurement = usage_measurement(kind)
            answer = self.client.series(
                f'SELECT increase, readings, resets, "first", "last" FROM "{measurement}"'  # noqa: S608
                f" WHERE time >= {start_s}s AND time < {end_s}s GROUP BY *"
            )
            for series in answer:
                site, gateway, device = key = series_device(series.tags)
                meter = meters.get((kind, *key))
                if meter is None:
                    meter = meters[(kind, *key)] = Meter(site, gateway, device, kind)
                if meter.building is None:
                    meter.building = series.tags.get("building") or None
                if meter.parent is None:
                    meter.parent = series.tags.get("parent") or None
                for t, increase, readings, resets, first, last in series.values:
                    meter.hours[int(t) // 1000] = Hour(
                        float(increase), int(readings), int(resets or 0), float(first), float(last)
                    )
        return sorted(meters.values(), key=lambda m: (m.kind, m.building or "", m.device))

    def last_before(self, kind: str, start_s: int) -> dict[SeriesDevice, float]:
        """Each meter's last counter reading before ``start_s`` (looking back 35 days)."""
        return last_counters(self.client, kind, start_s)

    def _known(self) -> dict[tuple[str, str, str, str], Meter]:
        meters: dict[tuple[str, str, str, str], Meter] = {}
        for dev in self.registry.devices():
            if dev.kind not in COUNTERS:
                continue
            info = dev.info
            meters[(dev.kind, dev.site, dev.gateway, dev.device)] = Meter(
                dev.site,
                dev.gateway,
                dev.device,
                dev.kind,
                name=info.name if info else None,
                building=info.tags.get("building") if info else None,
                interval_s=info.interval_s if info else 60,
                parent=info.tags.get("parent") if info else None,
            )
        return meters
