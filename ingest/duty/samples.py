"""Food samples (留样, SPEC §11): each meal's dishes kept ``sample_keep`` (48 h) in a sample
fridge, the record joined to that fridge's stored temperatures.

GB 31654-2021 (食品安全国家标准 餐饮服务通用卫生规范) asks a sample of each dish of at
least 125 g, kept refrigerated for at least 48 hours (the default ``sample_min_grams``
and ``sample_keep``). The fridge's minimum, maximum and minutes out of its class's range
are read from InfluxDB over [taken_at, min(now, discard_after)] when the record is shown,
each reading holding until the next one but at most 3 of the fridge's intervals (a
silent fridge adds no invented minutes).
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from campuswatch.clock import Clock, now_ms
from ingest.config.duty import DutyConfig
from ingest.config.reports import ClassLimitsConfig
from ingest.duty.books import DutyBooks, DutyError, Record
from ingest.errors import StorageError
from ingest.registry import Registry
from ingest.reports.cold_chain import minutes_out_of_range
from ingest.storage.influx import InfluxClient, quote_string

log = logging.getLogger(__name__)

BOOK = "samples"
HOLD_INTERVALS = 3
FUTURE_SLACK_MS = 5 * 60_000  # a phone's clock may be a little ahead
Text = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$"
    ),
]


class Dish(BaseModel):
    """One dish of a meal's sample."""

    model_config = ConfigDict(extra="forbid")
    name: Text
    grams: Annotated[int, Field(gt=0, le=5000)]


class SampleIn(BaseModel):
    """``POST /api/duty/samples``."""

    model_config = ConfigDict(extra="forbid")
    meal: Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,32}$")]
    dishes: Annotated[list[Dish], Field(min_length=1, max_length=40)]
    fridge: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    taken_at: Annotated[int, Field(gt=0)]


class SampleRefused(DutyError):
    """A sample that cannot be recorded (the message names the field and why)."""


class FoodSamples:
    """The samples book."""

    def __init__(
        self,
        books: DutyBooks,
        config: DutyConfig,
        registry: Registry,
        influx: InfluxClient,
        limits: dict[str, ClassLimitsConfig],
        clock: Clock,
    ) -> None:
        self.books = books
        self.config = config
        self.registry = registry
        self.influx = influx
        self.limits = limits
        self.clock = clock

    def record(self, sample: SampleIn, by: str) -> dict[str, Any]:
        """Save a sample after checking it; what the API answers."""
        now = now_ms(self.clock)
        least = self.config.sample_min_grams
        for i, dish in enumerate(sample.dishes):
            if dish.grams < least:
                raise SampleRefused(
                    f"dishes[{i}].grams: {dish.name} is {dish.grams} g; a sample needs at least"
                    f" {least} g"
                )
        if sample.taken_at > now + FUTURE_SLACK_MS:
            raise SampleRefused("taken_at: in the future")
        if self._fridge(sample.fridge) is None:
            raise SampleRefused(f"fridge: no temperature device {sample.fridge!r}")
        saved = self.books.append(BOOK, now, by, sample.model_dump())
        return self.view(saved)

    def view(self, record: Record) -> dict[str, Any]:
        """A saved sample with when it may be discarded and its fridge's temperatures."""
        body = record.body
        keep_ms = int(self.config.sample_keep.total_seconds() * 1000)
        discard_after = body["taken_at"] + keep_ms
        end = min(now_ms(self.clock), discard_after)
        fridge = {
            "device": body["fridge"],
            **self._temperatures(body["fridge"], body["taken_at"], end),
        }
        return {**record.as_json(), "discard_after": discard_after, "fridge": fridge}

    def get(self, rid: int) -> dict[str, Any] | None:
        """One sample."""
        record = self.books.get(BOOK, rid)
        return self.view(record) if record else None

    def between(self, start_ms: int, end_ms: int) -> list[dict[str, Any]]:
        """Samples saved in [start, end)."""
        return [self.view(r) for r in self.books.between(BOOK, start_ms, end_ms)]

    def _fridge(self, device: str) -> tuple[str, int] | None:
        """(class, interval) of the temperature device ``device``, if the site has one."""
        for known in self.registry.devices():
            if known.device == device and known.kind == "temperature":
                info = known.info
                klass = info.tags.get("class", "sample_fridge") if info else "sample_fridge"
                return klass, info.interval_s if info else 60
        return None

    def _temperatures(self, device: str, start_ms: int, end_ms: int) -> dict[str, Any]:
        """min, max and minutes out of range over [start, end] (None when unknown)."""
        found = self._fridge(device)
        nothing: dict[str, Any] = {"min": None, "max": None, "out_of_range_minutes": None}
        # SPEC §11: the fridge's min, max and minutes out of range (None: not known)
        if found is None or end_ms <= start_ms:
            return nothing
        klass, interval_s = found
        limits = self.limits.get(klass) or self.limits["sample_fridge"]
        try:
            rows = self.influx.query(
                "SELECT celsius FROM temperature"  # noqa: S608 (a quoted literal, numbers)
                f" WHERE device = {quote_string(device)}"
                f" AND time >= {start_ms}ms AND time <= {end_ms}ms"
            )
        except StorageError as exc:
            log.warning("sample fridge %s: temperatures cannot be read: %s", device, exc)
            return nothing
        points = sorted(
            (int(r["time"]), float(r["celsius"])) for r in rows if r["celsius"] is not None
        )
        if not points:
            return nothing
        values = [c for _, c in points]
        hold = HOLD_INTERVALS * interval_s * 1000
        return {
            "min": min(values) + 0.0,
            "max": max(values) + 0.0,
            "out_of_range_minutes": minutes_out_of_range(points, limits, hold, end_ms),
            "limits": [limits.min, limits.max],
        }
