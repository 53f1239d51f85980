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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from campuswatch.clock import Clock, now_ms
from ingest.config.base import Line64
from ingest.config.duty import DutyConfig
from ingest.config.reports import ClassLimitsConfig
from ingest.duty.books import AlreadyDone, DutyBooks, DutyError, Record
from ingest.errors import StorageError
from ingest.registry import Registry
from ingest.reports.cold_chain import minutes_out_of_range, out_of_limits
from ingest.storage.influx import InfluxClient, quote_string

log = logging.getLogger(__name__)

BOOK, EXCURSIONS, DISCARDS = "samples", "samples.excursion", "samples.discard"
SERVICE = "系统"
HOLD_INTERVALS = 3
FUTURE_SLACK_MS = 5 * 60_000  # a phone's clock may be a little ahead
# The meals a sample is taken of, as people say them (Chinese, English).
MEALS = {
    "breakfast": ("早餐", "breakfast"),
    "lunch": ("午餐", "lunch"),
    "snack": ("点心", "snack"),
    "dinner": ("晚餐", "dinner"),
}


class Dish(BaseModel):
    """One dish of a meal's sample."""

    model_config = ConfigDict(extra="forbid")
    name: Line64
    grams: Annotated[int, Field(gt=0, le=5000)]


class SampleIn(BaseModel):
    """``POST /api/duty/samples``."""

    model_config = ConfigDict(extra="forbid")
    meal: Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,32}$")]
    dishes: Annotated[list[Dish], Field(min_length=1, max_length=40)]
    fridge: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    taken_at: Annotated[int, Field(gt=0)]


@dataclass(frozen=True, slots=True)
class Fridge:
    """A sample's fridge as the registry knows it."""

    key: tuple[str, str, str]  # (site, gateway, device)
    klass: str
    interval_s: int
    in_range: bool  # its latest reading is inside its class's limits


# (fridge, which samples, out of range or back in range): the engine's on_sample
ExcursionReport = Callable[[tuple[str, str, str], str, bool], None]


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
                    f" {least} g",
                    f"{dish.name} 只有 {dish.grams} 克，每份留样至少 {least} 克",
                )
        if sample.taken_at > now + FUTURE_SLACK_MS:
            raise SampleRefused("taken_at: in the future", "留样时间在将来：请检查手机的时间")
        if self._fridge(sample.fridge) is None:
            raise SampleRefused(
                f"fridge: no temperature device {sample.fridge!r}", "没有这个留样柜，请重新选择"
            )
        saved = self.books.append(BOOK, now, by, sample.model_dump())
        return self.view(saved)

    def discard(self, rid: int, by: str) -> Record:
        """Record who threw sample ``rid`` away (once, and not before ``discard_after``)."""
        record = self.books.get(BOOK, rid)
        if record is None:
            raise LookupError(f"no sample {rid}")
        keep_ms = int(self.config.sample_keep.total_seconds() * 1000)
        if now_ms(self.clock) < record.body["taken_at"] + keep_ms:
            hours = keep_ms // 3_600_000
            raise SampleRefused(
                f"sample {rid} must be kept until its {hours} hours are over",
                f"这份留样还没保存满 {hours} 小时，不能处理",
            )
        try:
            return self.books.follow_up(DISCARDS, record, now_ms(self.clock), by, {}, once=True)
        except AlreadyDone as exc:
            raise SampleRefused(
                f"sample {rid} was discarded already by {exc.earlier.by}",
                f"这份留样已由 {exc.earlier.by} 处理过了",
            ) from exc

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
        marked = self.books.about(EXCURSIONS, record.id)
        excursion = (
            {**marked[0].body, "at": marked[0].at_ms, "by": marked[0].by} if marked else None
        )
        thrown = self.books.about(DISCARDS, record.id)
        return {
            **record.as_json(),
            "discard_after": discard_after,
            "fridge": fridge,
            "excursion": excursion,
            "discarded_by": thrown[0].by if thrown else None,
            "discarded_at": thrown[0].at_ms if thrown else None,
        }

    def watch(self, report: ExcursionReport, alerting: Callable[[], set[str]]) -> None:
        """Mark each kept sample whose fridge went out of range (once, a record of its
        own) and tell ``report``: out of range when samples were newly hit, or when the
        fridge is out again with samples hit before still kept; back in range when it
        reads inside its limits (``alerting``: the fridges whose alert is firing, checked
        even when their samples are gone, so an alert always ends)."""
        now = now_ms(self.clock)
        keep_ms = int(self.config.sample_keep.total_seconds() * 1000)
        kept: dict[str, list[Record]] = {}
        for record in self.books.between(BOOK, now - keep_ms - 86_400_000, now + 1):
            if record.body["taken_at"] + keep_ms > now:
                kept.setdefault(record.body["fridge"], []).append(record)
        for device in sorted(set(kept) | alerting()):
            found = self._fridge(device)
            if found is None:
                continue
            samples = kept.get(device, [])
            newly = [s for s in samples if self._mark(s, now)]
            hit = newly or [s for s in samples if self.books.about(EXCURSIONS, s.id)]
            if newly or (hit and not found.in_range):
                meals = "、".join(_meals({s.body["meal"] for s in hit}))
                report(found.key, f"{len(hit)} 份留样受影响（{meals}）", True)
            elif found.in_range:
                report(found.key, "", False)

    def _mark(self, sample: Record, now: int) -> bool:
        """Mark ``sample`` if its fridge was out of range in its time and it is not yet."""
        if self.books.about(EXCURSIONS, sample.id):
            return False
        keep_ms = int(self.config.sample_keep.total_seconds() * 1000)
        end = min(now, sample.body["taken_at"] + keep_ms)
        found = self._temperatures(sample.body["fridge"], sample.body["taken_at"], end)
        if not found["out_of_range_minutes"]:
            return False
        body = {k: found[k] for k in ("min", "max", "out_of_range_minutes")}
        try:
            self.books.follow_up(EXCURSIONS, sample, now, SERVICE, body, once=True)
        except AlreadyDone:  # marked meanwhile
            return False
        minutes = body["out_of_range_minutes"]
        log.warning("food sample %d: its fridge was out of range %s min", sample.id, minutes)
        return True

    def get(self, rid: int) -> dict[str, Any] | None:
        """One sample."""
        record = self.books.get(BOOK, rid)
        return self.view(record) if record else None

    def between(self, start_ms: int, end_ms: int) -> list[dict[str, Any]]:
        """Samples saved in [start, end)."""
        return [self.view(r) for r in self.books.between(BOOK, start_ms, end_ms)]

    def _fridge(self, device: str) -> Fridge | None:
        """The temperature device ``device``, if the site has one."""
        for known in self.registry.devices():
            if known.device == device and known.kind == "temperature":
                info = known.info
                klass = info.tags.get("class", "sample_fridge") if info else "sample_fridge"
                limits = self.limits.get(klass) or self.limits["sample_fridge"]
                celsius = known.values.get("celsius")
                inside = isinstance(celsius, int | float) and not out_of_limits(
                    float(celsius), limits
                )
                key = (known.site, known.gateway, known.device)
                return Fridge(key, klass, info.interval_s if info else 60, inside)
        return None

    def _temperatures(self, device: str, start_ms: int, end_ms: int) -> dict[str, Any]:
        """min, max and minutes out of range over [start, end] (None when unknown)."""
        found = self._fridge(device)
        nothing: dict[str, Any] = {"min": None, "max": None, "out_of_range_minutes": None}
        # SPEC §11: the fridge's min, max and minutes out of range (None: not known)
        if found is None or end_ms <= start_ms:
            return nothing
        klass, interval_s = found.klass, found.interval_s
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


def _meals(meals: set[str]) -> list[str]:
    """Meals as the canteen says them (the message is in Chinese), in the day's order."""
    order = list(MEALS)
    known = sorted(meals & set(MEALS), key=order.index)
    return [MEALS[m][0] for m in known] + sorted(meals - set(MEALS))
