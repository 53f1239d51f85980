"""The canteen cold-chain log: one day of every classed cold store, for food-safety checks.

Minutes out of range hold each reading until the next one, but never longer than two
of the device's intervals: a silent probe is not counted as in or out of range (the
silence rule reports it), so a gap cannot add invented minutes.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from ingest.config.reports import ClassLimitsConfig
from ingest.registry import Registry
from ingest.reports.models import ColdChainDay, ColdChainDevice
from ingest.reports.periods import Period, parse_day
from ingest.rules.store import AlertStore
from ingest.storage.influx import InfluxClient, series_device

HOLD_INTERVALS = 2
StoreKey = tuple[str, str, str]  # (site, gateway, device)
CURVE_BUCKET_S = 300


@dataclass(frozen=True, slots=True)
class Curve:
    """What a chart draws of one store's day, in hours since midnight and °C: each
    5-minute interval's mean, lowest and highest reading (a 6-minute excursion stays
    visible in the band although the mean hides it) and every reading out of range."""

    hours: list[float]
    mean: list[float]
    low: list[float]
    high: list[float]
    outside: list[tuple[float, float]]


Curves = dict[StoreKey, Curve]


@dataclass(slots=True)
class Store:
    """One cold store and its readings of the day (epoch ms, °C)."""

    site: str
    gateway: str
    device: str
    klass: str
    name: str | None = None
    building: str | None = None
    interval_s: int = 60
    points: list[tuple[int, float]] = field(default_factory=list)


def minutes_out_of_range(
    points: list[tuple[int, float]], limits: ClassLimitsConfig, hold_ms: int, end_ms: int
) -> int:
    """Minutes during which the last reading was outside ``limits`` (whole minutes)."""
    out_ms = 0
    for i, (ts, celsius) in enumerate(points):
        following = points[i + 1][0] if i + 1 < len(points) else end_ms
        if out_of_limits(celsius, limits):
            out_ms += min(following - ts, hold_ms)
    return int(out_ms / 60_000 + 0.5)  # half a minute rounds up


def _curve(points: list[tuple[int, float]], start_s: int, limits: ClassLimitsConfig) -> Curve:
    """The store's 5-minute intervals and its readings out of range."""
    buckets: dict[int, list[float]] = defaultdict(list)
    for ts, celsius in points:
        buckets[(ts // 1000 - start_s) // CURVE_BUCKET_S].append(celsius)
    per_hour = 3600 / CURVE_BUCKET_S
    ordered = sorted(buckets.items())
    return Curve(
        hours=[b / per_hour for b, _ in ordered],
        mean=[sum(v) / len(v) for _, v in ordered],
        low=[min(v) for _, v in ordered],
        high=[max(v) for _, v in ordered],
        outside=[((ts / 1000 - start_s) / 3600, c) for ts, c in points if out_of_limits(c, limits)],
    )


def out_of_limits(celsius: float, limits: ClassLimitsConfig) -> bool:
    """Whether a reading is outside a class's limits (a limit not given is no limit)."""
    return (limits.min is not None and celsius < limits.min) or (
        limits.max is not None and celsius > limits.max
    )


class ColdChainReports:
    """Builds the cold-chain log of one day."""

    def __init__(
        self,
        client: InfluxClient,
        registry: Registry,
        alerts: AlertStore,
        limits: dict[str, ClassLimitsConfig],
        timezone: str,
    ) -> None:
        self.client = client
        self.registry = registry
        self.alerts = alerts
        self.limits = limits
        self.tz = ZoneInfo(timezone)

    def day(self, day: str) -> ColdChainDay:
        """The log of the local calendar day ``day`` (``2026-11-23``)."""
        return self.day_with_curves(day)[0]

    def day_with_curves(self, day: str) -> tuple[ColdChainDay, Curves]:
        """The log and what its chart draws of each store (see Curve)."""
        period = parse_day(day, self.tz)
        stores = self._load(period)
        curves = {
            key: _curve(s.points, period.start_s, self.limits[s.klass]) for key, s in stores.items()
        }
        fired: dict[StoreKey, int] = defaultdict(int)
        for alert in self.alerts.fired_between(period.start_s * 1000, period.end_s * 1000):
            fired[(alert.site, alert.gateway, alert.device)] += 1
        devices = [
            self._summary(s, period, fired[(s.site, s.gateway, s.device)])
            for s in sorted(stores.values(), key=lambda s: (s.klass, s.building or "", s.device))
        ]
        return ColdChainDay(date=period.label, devices=devices), curves

    def _load(self, period: Period) -> dict[StoreKey, Store]:
        stores: dict[StoreKey, Store] = {}
        for dev in self.registry.devices():
            klass = dev.info.tags.get("class") if dev.info else None
            if dev.kind == "temperature" and dev.info and klass in self.limits:
                stores[(dev.site, dev.gateway, dev.device)] = Store(
                    dev.site,
                    dev.gateway,
                    dev.device,
                    klass,
                    dev.info.name,
                    dev.info.tags.get("building"),
                    dev.info.interval_s,
                )
        answer = self.client.series(
            "SELECT celsius FROM temperature"  # noqa: S608 (numbers only)
            f" WHERE time >= {period.start_s}s AND time < {period.end_s}s GROUP BY *"
        )
        for series in answer:
            key, klass = series_device(series.tags), series.tags.get("class")
            store = stores.get(key)
            if store is None and klass is not None and klass in self.limits:
                building = series.tags.get("building")
                store = stores[key] = Store(*key, klass, building=building)
            if store is not None:
                store.points.extend((int(t), float(c)) for t, c in series.values)
        for store in stores.values():
            store.points.sort()
        return stores

    def _summary(self, store: Store, period: Period, alerts: int) -> ColdChainDevice:
        limits = self.limits[store.klass]
        values = [c for _, c in store.points]
        end_ms = period.end_s * 1000
        hold_ms = HOLD_INTERVALS * store.interval_s * 1000
        return ColdChainDevice.model_validate(
            {
                "site": store.site,
                "gateway": store.gateway,
                "device": store.device,
                "name": store.name,
                "building": store.building,
                "class": store.klass,
                "limits": (limits.min, limits.max),
                "min": min(values) + 0.0 if values else None,  # + 0.0: never "-0.0"
                "max": max(values) + 0.0 if values else None,
                "mean": round(sum(values) / len(values), 2) + 0.0 if values else None,
                "minutes_out_of_range": minutes_out_of_range(store.points, limits, hold_ms, end_ms),
                "readings": len(values),
                "alerts": alerts,
            }
        )
