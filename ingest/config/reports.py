"""The ``reports:`` section of the server config (schedules, thresholds, tariffs, limits)
and ``lock_check:``, the other job run on a schedule."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from campuswatch.configfile import Strict, Url
from campuswatch.durations import ClockTime, Duration
from ingest.config.base import Name, Weekday

Price = Annotated[float, Field(ge=0, le=1000)]


class TariffBandConfig(Strict):
    """A time-of-day electricity price (峰/平/谷); ``to`` before ``from`` crosses midnight."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    from_: ClockTime = Field(alias="from")
    to: ClockTime
    price: Price

    @model_validator(mode="after")
    def _whole_hours(self) -> TariffBandConfig:
        # Meter use is kept per hour, so a band must start and end on the hour.
        for key, value in (("from", self.from_), ("to", self.to)):
            if value.minute or value.second:
                raise ValueError(f"{key} {value:%H:%M} is not on the hour (use is kept per hour)")
        if self.from_ == self.to:
            raise ValueError("from and to are equal: the band would be empty")
        return self

    def hours(self) -> list[int]:
        """The local hours (0-23) this band covers."""
        start, end = self.from_.hour, self.to.hour
        return [(start + i) % 24 for i in range((end - start) % 24)]


class ElectricityTariffConfig(Strict):
    """Time-of-day prices; hours not covered by a band cost ``default``."""

    bands: list[TariffBandConfig] = Field(default_factory=list)
    default: Price | None = None

    @model_validator(mode="after")
    def _covers_day(self) -> ElectricityTariffConfig:
        owner: dict[int, str] = {}
        for band in self.bands:
            for hour in band.hours():
                if hour in owner:
                    raise ValueError(
                        f"bands {owner[hour]} and {band.name} both cover {hour:02d}:00"
                    )
                owner[hour] = band.name
        uncovered = [h for h in range(24) if h not in owner]
        if uncovered and self.default is None:
            raise ValueError(f"{_hour_ranges(uncovered)} has no band: add bands or a default price")
        return self

    def price_by_hour(self) -> list[float]:
        """The price of each local hour 0-23."""
        prices = [self.default or 0.0] * 24
        for band in self.bands:
            for hour in band.hours():
                prices[hour] = band.price
        return prices


def _hour_ranges(hours: list[int]) -> str:
    """``[0, 1, 2, 20, 21]`` → ``00:00-03:00, 20:00-22:00``."""
    ranges: list[list[int]] = []
    for hour in hours:
        if ranges and ranges[-1][1] == hour:
            ranges[-1][1] = hour + 1
        else:
            ranges.append([hour, hour + 1])
    return ", ".join(f"{a:02d}:00-{b:02d}:00" for a, b in ranges)


class TariffsConfig(Strict):
    """Prices that turn use into cost in the weekly report."""

    currency: Annotated[str, StringConstraints(min_length=1, max_length=8)] = "CNY"
    electricity: ElectricityTariffConfig | None = None
    water: Price | None = None  # per m³


class ClassLimitsConfig(Strict):
    """The allowed temperature range of one class of cold storage (°C)."""

    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _ordered(self) -> ClassLimitsConfig:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        if self.min is not None and self.max is not None and self.min >= self.max:
            raise ValueError(f"min {self.min} must be below max {self.max}")
        return self


# Sources of these defaults are cited in docs/console.md ("Cold-chain log").
DEFAULT_CLASS_LIMITS = {
    "refrigerator": ClassLimitsConfig(min=0, max=8),
    "sample_fridge": ClassLimitsConfig(min=0, max=8),
    "freezer": ClassLimitsConfig(max=-18),
    "medicine_fridge": ClassLimitsConfig(min=2, max=8),
}


class WeeklyJobConfig(Strict):
    """When the weekly usage report is made and sent (site time), and to whom."""

    enabled: bool = True
    day: Weekday = "mon"
    at: ClockTime = time(7, 30)
    notify: list[Name] = Field(default_factory=list)


class DailyJobConfig(Strict):
    """When a report of the day before is made and sent (site time), and to whom
    (nobody to tell: the job does not run)."""

    enabled: bool = True
    at: ClockTime = time(0, 10)
    notify: list[Name] = Field(default_factory=list)


class ReportsConfig(Strict):
    """Reports: the weekly usage feedback, daily readings and the cold-chain log."""

    # Where people open the HTML pages (links in messages); default: the API address.
    base_url: Url | None = None
    # How long the link in a report message opens the page without a login.
    link_valid: Duration = timedelta(days=30)
    weekly_usage: WeeklyJobConfig = WeeklyJobConfig()
    # The technician's daily check record (每天做好检查记录), for the day before.
    daily_readings: DailyJobConfig = DailyJobConfig(at=time(0, 20))
    cold_chain: DailyJobConfig = DailyJobConfig()
    # Week-over-week change that is called out, in percent.
    jump_pct: Annotated[float, Field(gt=0)] = 30.0
    # Night base load this many times the 4-week average is called out.
    night_factor: Annotated[float, Field(gt=1)] = 1.5
    tariffs: TariffsConfig | None = None
    # Merged over DEFAULT_CLASS_LIMITS: a campus changes or adds classes here.
    classes: dict[
        Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,32}$")], ClassLimitsConfig
    ] = Field(default_factory=dict)

    def class_limits(self) -> dict[str, ClassLimitsConfig]:
        """The default class limits with this config's changes applied."""
        return {**DEFAULT_CLASS_LIMITS, **self.classes}


class LockCheckTimeConfig(Strict):
    """One time of the nightly lock check, on the days it applies (after the calendar:
    ``[mon..fri]`` means working days, make-up Saturdays included)."""

    days: list[Weekday] = Field(min_length=1)
    time: ClockTime


class LockCheckConfig(Strict):
    """The nightly lock check (落锁检查): at each time, one message listing, building by
    building, every door open, unlocked or silent (or that all are closed and locked)."""

    notify: list[Name] = Field(min_length=1)
    at: list[LockCheckTimeConfig] = Field(min_length=1)
    # Only the doors whose tags match (e.g. {building: main}); default: every door.
    where: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _no_overlap(self) -> LockCheckConfig:
        seen: dict[tuple[str, time], int] = {}
        for index, entry in enumerate(self.at):
            for day in entry.days:
                first = seen.setdefault((day, entry.time), index)
                if first != index:
                    raise ValueError(
                        f"at[{index}]: {entry.time:%H:%M} on {day} is already at[{first}]"
                    )
        return self
