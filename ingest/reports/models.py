"""The report documents (SPEC §7) as pydantic models: the API's JSON and the CSV/HTML source."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Gap(BaseModel):
    """Hours in which a meter sent nothing (its use is counted when readings resume)."""

    start: str
    end: str
    hours: int


class MeterUsage(BaseModel):
    """One meter's week."""

    site: str = ""
    gateway: str = ""
    device: str
    kind: str
    name: str | None
    unit: str
    building: str | None
    consumption: float | None
    previous: float | None
    change_pct: float | None
    average_4w: float | None
    night_baseline: float | None
    daily: list[float | None]
    cost: float | None = None
    resets: int = 0
    gaps: list[Gap] = []
    # Sub-meters: ``parent`` is the meter this one is behind (not counted again in the
    # totals); a parent's ``sub_meters`` is its children's use and ``unmetered`` the rest
    # (parent minus children: losses, a leak, or a load no sub-meter sees).
    parent: str | None = None
    sub_meters: float | None = None
    unmetered: float | None = None
    anomalies: list[str] = []


class BuildingUsage(BaseModel):
    """The sum of a building's top-level meters."""

    building: str
    electricity_kwh: float
    water_m3: float
    cost: float | None = None


class WeeklyUsage(BaseModel):
    """``GET /api/reports/weekly-usage``: SPEC §7 plus buildings, days and cost."""

    week: str
    start: str
    end: str
    complete: bool
    days: list[str]
    meters: list[MeterUsage]
    buildings: list[BuildingUsage]
    totals: dict[str, float]
    currency: str | None = None


class DailyReading(BaseModel):
    """One meter's day: the counter at the start and end and the use between."""

    site: str = ""
    gateway: str = ""
    device: str
    kind: str
    name: str | None
    unit: str
    building: str | None
    start_reading: float | None
    end_reading: float | None
    consumption: float | None
    readings: int
    resets: int
    parent: str | None = None
    anomalies: list[str] = []


class DailyReadings(BaseModel):
    """``GET /api/reports/daily-readings``: the technician's daily check record."""

    date: str
    meters: list[DailyReading]


class ColdChainDevice(BaseModel):
    """One cold store's day (SPEC §7)."""

    site: str = ""
    gateway: str = ""
    device: str
    name: str | None
    building: str | None
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    class_: str = Field(alias="class")
    limits: tuple[float | None, float | None]
    min: float | None
    max: float | None
    mean: float | None
    minutes_out_of_range: int
    readings: int
    alerts: int


class ColdChainDay(BaseModel):
    """``GET /api/reports/cold-chain``."""

    date: str
    devices: list[ColdChainDevice]
