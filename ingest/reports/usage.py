"""The weekly usage feedback (一周一反馈) and the daily meter readings, from the hourly buckets.

Every figure comes from ``<kind>_usage_1h`` (see ingest/storage/meter_hours.py), so a
meter reset, a replaced meter or a gap is handled the same way everywhere: drops count
as no use and the increase across a gap is counted in the hour its later reading lies in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, TypeVar
from zoneinfo import ZoneInfo

from campuswatch.clock import Clock
from ingest.config.reports import ReportsConfig
from ingest.reports.meters import UNITS, Hour, Meter, MeterStore
from ingest.reports.models import (
    BuildingUsage,
    DailyReading,
    DailyReadings,
    Gap,
    MeterUsage,
    WeeklyUsage,
)
from ingest.reports.periods import Period, parse_day, parse_week, shift_week
from ingest.reports.report_text import say
from ingest.storage.dirty import DirtyHours
from ingest.storage.meter_hours import COUNTERS, LOOKBACK_S, MeterHours, usage_measurement

HISTORY_WEEKS = 4
NIGHT_HOURS = range(5)  # 00:00-05:00
LEAK_HOURS = 24
# Night loads below these are noise (a standby LED, a dripping tap is still caught by "leak").
NIGHT_FLOOR = {"electricity": 0.05, "water": 0.005}
TOTAL_KEYS = {"electricity": "electricity_kwh", "water": "water_m3"}
UNMETERED_SHARE = 0.05  # a parent's use its sub-meters do not see, above which it is a hint


@dataclass(frozen=True, slots=True)
class HourSlot:
    """Where one local hour of the report window falls."""

    week: int  # 0 = the report's week, 1 = the week before, ...
    day: int  # 0 = Monday
    hour: int  # local clock hour 0-23


@dataclass(slots=True)
class _Sums:
    """One meter's buckets added up per week, per day of the report's week and per night."""

    weekly: list[float] = field(default_factory=lambda: [0.0] * (HISTORY_WEEKS + 1))
    has_data: list[bool] = field(default_factory=lambda: [False] * (HISTORY_WEEKS + 1))
    daily: list[float | None] = field(default_factory=lambda: [None] * 7)
    night: dict[int, list[float]] = field(default_factory=dict)  # week -> night hours' use
    resets: int = 0
    cost: float = 0.0
    priced: bool = False

    @classmethod
    def of(cls, meter: Meter, slots: dict[int, HourSlot], prices: list[float] | None) -> _Sums:
        """Walk the meter's buckets once."""
        sums = cls(priced=prices is not None)
        for t, bucket in meter.hours.items():
            slot = slots.get(t)
            if slot is None:
                continue
            sums.weekly[slot.week] += bucket.increase
            sums.has_data[slot.week] = True
            if slot.hour in NIGHT_HOURS:
                sums.night.setdefault(slot.week, []).append(bucket.increase)
            if slot.week == 0:
                sums.daily[slot.day] = (sums.daily[slot.day] or 0.0) + bucket.increase
                sums.resets += bucket.resets
                if prices:
                    sums.cost += bucket.increase * prices[slot.hour]
        return sums


class UsageReports:
    """Builds the weekly usage report and the daily readings record."""

    def __init__(
        self,
        store: MeterStore,
        meter_hours: MeterHours,
        settings: ReportsConfig,
        timezone: str,
        lang: str,
        clock: Clock,
        dirty: DirtyHours | None = None,
    ) -> None:
        self.store = store
        self.dirty = dirty
        self.meter_hours = meter_hours
        self.settings = settings
        self.tz = ZoneInfo(timezone)
        self.lang = lang
        self.clock = clock

    # ------------------------------------------------------------------ weekly

    def weekly(self, week: str) -> WeeklyUsage:
        """The report of the ISO week ``week`` (``2026-W47``), in the site timezone."""
        period = parse_week(week, self.tz)
        weeks = [shift_week(period, -i, self.tz) for i in range(HISTORY_WEEKS + 1)]
        self._catch_up(weeks[-1].start_s, period.end_s)
        slots = self._slots(weeks)
        now_s = int(self.clock.time())
        built = [
            self._meter_usage(m, slots, period, now_s)
            for m in self.store.load(weeks[-1].start_s, period.end_s)
        ]
        meters = [usage for usage, _ in built]
        self._sub_meters(meters, {id(usage): before for usage, before in built})
        return WeeklyUsage(
            week=period.label,
            start=period.start.isoformat(),
            end=period.end.isoformat(),
            complete=period.end_s <= now_s,
            days=[d.isoformat() for d in period.days()],
            meters=meters,
            buildings=_buildings(meters),
            totals=_totals(meters),
            currency=self.settings.tariffs.currency if self.settings.tariffs else None,
        )

    def _catch_up(self, start_s: int, end_s: int) -> None:
        """Bring the buckets of ``[start, end)`` up to date before reading them.

        Hours whose readings changed and are not recomputed yet (a gateway's backlog just
        drained, an import) are recomputed from the raw data now, so a report never shows
        missing data as no use; a report of the running period includes the last minutes.
        """
        if self.dirty is not None:
            # From the lookback on: the window's first increase starts from the reading
            # before it, found in the buckets before the window.
            for kind in COUNTERS:
                key = usage_measurement(kind)
                taken = self.dirty.runs_within(key, start_s - LOOKBACK_S, end_s)
                for run in taken.runs.get(key, []):
                    self.meter_hours.refresh_changed(kind, *run)
                    self.dirty.done(key, run, taken.generation)
        now_s = int(self.clock.time())
        if end_s > now_s - 3600:  # the hour before and this one (live in the service)
            self.meter_hours.catch_up(now_s - 3600, now_s + 1)

    def _slots(self, weeks: list[Period]) -> dict[int, HourSlot]:
        """Every local hour of the window, by its start (epoch s)."""
        slots = {}
        for index, week in enumerate(weeks):
            t = week.start_s
            while t < week.end_s:
                local = datetime.fromtimestamp(t, self.tz)
                slots[t] = HourSlot(index, local.weekday(), local.hour)
                t += 3600
        return slots

    def _meter_usage(
        self, meter: Meter, slots: dict[int, HourSlot], period: Period, now_s: int
    ) -> tuple[MeterUsage, list[float | None]]:
        """The meter's week, and its use in each of the weeks before (None: no data)."""
        sums = _Sums.of(meter, slots, self._hour_prices(meter.kind))
        use = [round(w, 3) if sums.has_data[i] else None for i, w in enumerate(sums.weekly)]
        history = [u for u in use[1:] if u is not None]
        night = sums.night
        usage = MeterUsage(
            site=meter.site,
            gateway=meter.gateway,
            device=meter.device,
            kind=meter.kind,
            name=meter.name,
            unit=UNITS[meter.kind],
            building=meter.building,
            consumption=use[0],
            previous=use[1],
            change_pct=_change_pct(use[0], use[1]),
            average_4w=round(_mean(history), 3) if history else None,
            night_baseline=round(_mean(night[0]), 3) if 0 in night else None,
            daily=[round(d, 3) if d is not None else None for d in sums.daily],
            cost=round(sums.cost, 2) if sums.priced and use[0] is not None else None,
            resets=sums.resets,
            gaps=self._gaps(meter, period, now_s),
            parent=meter.parent,
        )
        baselines = [_mean(night[w]) for w in range(1, HISTORY_WEEKS + 1) if w in night]
        usage.anomalies = self._anomalies(meter, usage, baselines, period)
        return usage, use[1:]

    def _sub_meters(
        self, meters: list[MeterUsage], before: dict[int, list[float | None]] | None = None
    ) -> None:
        """Give each parent meter its children's use and the unmetered rest; ``before``:
        each meter's use in the weeks before, by ``id(meter)``."""
        before = before or {}
        for parent, children in sub_meters(meters):
            known = [c.consumption for c in children if c.consumption is not None]
            if parent.consumption is None or not known:
                continue
            parent.sub_meters = round(sum(known), 3)
            if len(known) < len(children):  # a child sent nothing: the rest is unknown
                continue
            parent.unmetered = round(parent.consumption - parent.sub_meters, 3) + 0.0
            usual = _usual_share(
                before.get(id(parent), []), [before.get(id(c), []) for c in children]
            )
            hint = _unmetered_hint(parent, usual, self.lang)
            if hint:
                parent.anomalies.append(hint)

    def _hour_prices(self, kind: str) -> list[float] | None:
        tariffs = self.settings.tariffs
        if tariffs is None:
            return None
        if kind == "electricity" and tariffs.electricity is not None:
            return tariffs.electricity.price_by_hour()
        if kind == "water" and tariffs.water is not None:
            return [tariffs.water] * 24
        return None

    def _gaps(self, meter: Meter, period: Period, now_s: int) -> list[Gap]:
        """Runs of hours without readings, from the meter's first data to the end (or now)."""
        if meter.interval_s > 3600 or not meter.hours:
            return []
        first = min(meter.hours)
        end = min(period.end_s, now_s // 3600 * 3600)
        gaps: list[Gap] = []
        run_start = None
        t = max(first, period.start_s)
        while t < end:
            if t not in meter.hours and run_start is None:
                run_start = t
            elif t in meter.hours and run_start is not None:
                gaps.append(self._gap(run_start, t))
                run_start = None
            t += 3600
        if run_start is not None:
            gaps.append(self._gap(run_start, end))
        return gaps

    def _gap(self, start_s: int, end_s: int) -> Gap:
        return Gap(
            start=datetime.fromtimestamp(start_s, self.tz).isoformat(),
            end=datetime.fromtimestamp(end_s, self.tz).isoformat(),
            hours=(end_s - start_s) // 3600,
        )

    def _anomalies(
        self, meter: Meter, usage: MeterUsage, baselines: list[float], period: Period
    ) -> list[str]:
        lang = self.lang
        found: list[str] = []
        if usage.consumption is None:
            return [say("no_data", lang)]
        found.extend(
            say("gap", lang, start=_short(g.start, lang), end=_short(g.end, lang), hours=g.hours)
            for g in usage.gaps
        )
        if usage.resets:
            found.append(say("resets", lang, count=usage.resets))
        night = usage.night_baseline
        normal = _mean(baselines) if baselines else None
        if (
            night is not None
            and normal is not None
            and night > NIGHT_FLOOR[meter.kind]
            and night > self.settings.night_factor * normal
        ):
            found.append(self._night_text(night, normal, usage.unit))
        if meter.kind == "water":
            found.extend(self._leak(meter, period))
        pct = usage.change_pct
        if pct is not None and abs(pct) > self.settings.jump_pct:
            found.append(say("jump_up" if pct > 0 else "jump_down", lang, pct=abs(pct)))
        return found

    def _night_text(self, night: float, normal: float, unit: str) -> str:
        if normal <= 0:
            return say("night_new", self.lang, value=round(night, 3), unit=unit)
        factor = night / normal
        return say(
            "night",
            self.lang,
            value=round(night, 3),
            unit=unit,
            normal=round(normal, 3),
            factor=factor,
        )

    def _leak(self, meter: Meter, period: Period) -> list[str]:
        """The longest run of consecutive hours that all had water flowing, if ≥ 24."""
        best_start, best_len, run_start, run_len, previous = 0, 0, 0, 0, None
        for t, bucket in meter.between(period.start_s, period.end_s):
            flowing = bucket.increase > 0
            if flowing and previous == t - 3600 and run_len:
                run_len += 1
            elif flowing:
                run_start, run_len = t, 1
            else:
                run_len = 0
            previous = t
            if run_len > best_len:
                best_start, best_len = run_start, run_len
        if best_len < LEAK_HOURS:
            return []
        start = _short(datetime.fromtimestamp(best_start, self.tz).isoformat(), self.lang)
        return [say("leak", self.lang, hours=best_len, start=start)]

    # ------------------------------------------------------------------ daily

    def daily(self, day: str) -> DailyReadings:
        """Each meter's counter at the start and end of ``day`` and the day's use."""
        period = parse_day(day, self.tz)
        self._catch_up(period.start_s, period.end_s)
        meters = self.store.load(period.start_s, period.end_s)
        before = {
            kind: self.store.last_before(kind, period.start_s) for kind in ("electricity", "water")
        }
        return DailyReadings(
            date=period.label,
            meters=[
                _daily_reading(m, before[m.kind].get((m.site, m.gateway, m.device)), self.lang)
                for m in meters
            ],
        )


def _daily_reading(meter: Meter, previous: float | None, lang: str) -> DailyReading:
    hours: list[Hour] = [h for _, h in sorted(meter.hours.items())]
    resets = sum(h.resets for h in hours)
    anomalies = [say("no_data_day", lang)] if not hours else []
    if resets:
        anomalies.append(say("resets", lang, count=resets))
    return DailyReading(
        site=meter.site,
        gateway=meter.gateway,
        device=meter.device,
        kind=meter.kind,
        name=meter.name,
        unit=UNITS[meter.kind],
        building=meter.building,
        start_reading=previous if previous is not None else (hours[0].first if hours else None),
        end_reading=hours[-1].last if hours else None,
        consumption=round(sum(h.increase for h in hours), 3) if hours else None,
        readings=sum(h.readings for h in hours),
        resets=resets,
        parent=meter.parent,
        anomalies=anomalies,
    )


class Metered(Protocol):
    """A meter's line in a report (weekly or daily)."""

    site: str
    kind: str
    device: str
    parent: str | None
    consumption: float | None


M = TypeVar("M", bound=Metered)


def parents_of(meters: list[M]) -> dict[int, M]:
    """id(meter) -> the meter it is behind: ``parent`` names a meter of the same kind and
    site; one naming no such meter, or in a loop of parents, is top-level."""
    by_id = {(m.site, m.kind, m.device): m for m in meters}
    found: dict[int, M] = {}
    for m in meters:
        parent = by_id.get((m.site, m.kind, m.parent or ""))
        seen: set[int] = set()
        cursor = parent
        while cursor is not None and cursor is not m and id(cursor) not in seen:
            seen.add(id(cursor))  # walk up: coming back to m is a loop, m has no parent
            cursor = by_id.get((cursor.site, cursor.kind, cursor.parent or ""))
        if parent is not None and cursor is not m:
            found[id(m)] = parent
    return found


def sub_meters(meters: list[M]) -> list[tuple[M, list[M]]]:
    """Each parent meter with the meters directly behind it."""
    found: dict[int, tuple[M, list[M]]] = {}
    parents = parents_of(meters)
    for m in meters:
        parent = parents.get(id(m))
        if parent is not None:
            found.setdefault(id(parent), (parent, []))[1].append(m)
    return list(found.values())


def _usual_share(parent: list[float | None], children: list[list[float | None]]) -> float | None:
    """The lowest unmetered share of the weeks before in which the parent and every child
    have data (None: no such week). The lowest, not the mean: a leak that began two weeks
    ago must not become part of what is usual."""
    shares = []
    for week, use in enumerate(parent):
        kids = [c[week] if week < len(c) else None for c in children]
        if use and all(k is not None for k in kids):
            shares.append((use - sum(k for k in kids if k is not None)) / use)
    return min(shares) if shares else None


def _unmetered_hint(parent: MeterUsage, usual: float | None, lang: str) -> str | None:
    """A hint when the unmetered rest is negative, or more than 5 % (and more than noise)
    and, when the weeks before are known, 5 points more than their share: a campus's
    unmetered building is no news every week, a rise in it is (a leak, a new load)."""
    rest, children, use = parent.unmetered or 0.0, parent.sub_meters or 0.0, parent.consumption
    assert use is not None
    floor = NIGHT_FLOOR[parent.kind] * 24
    if rest < -max(0.02 * use, floor):
        return say("unmetered_negative", lang, children=children, parent=use, unit=parent.unit)
    share = rest / use if use else 0.0
    if rest <= max(UNMETERED_SHARE * use, floor):
        return None
    if usual is None:
        return say(
            "unmetered", lang, children=children, rest=rest, unit=parent.unit, pct=share * 100
        )
    if share > usual + UNMETERED_SHARE:
        return say(
            "unmetered_rose", lang, rest=rest, unit=parent.unit, pct=share * 100, usual=usual * 100
        )
    return None


def top_level(meters: Iterable[M]) -> list[M]:
    """The meters whose use no meter above them counts: what totals add up, so nothing
    counts twice (and a sub-meter counts when every meter above it sent nothing)."""
    meters = list(meters)
    parents = parents_of(meters)

    def counted_above(m: M) -> bool:
        parent = parents.get(id(m))
        while parent is not None:
            if parent.consumption is not None:
                return True
            parent = parents.get(id(parent))
        return False

    return [m for m in meters if not counted_above(m)]


def _buildings(meters: Iterable[MeterUsage]) -> list[BuildingUsage]:
    by_building: dict[str, BuildingUsage] = {}
    for m in top_level(meters):
        name = m.building or "-"
        entry = by_building.get(name)
        if entry is None:
            entry = by_building[name] = BuildingUsage(building=name, electricity_kwh=0, water_m3=0)
        if m.consumption is not None:
            key = TOTAL_KEYS[m.kind]
            setattr(entry, key, round(getattr(entry, key) + m.consumption, 3))
        if m.cost is not None:
            entry.cost = round((entry.cost or 0.0) + m.cost, 2)
    return sorted(by_building.values(), key=lambda b: b.building)


def _totals(meters: list[MeterUsage]) -> dict[str, float]:
    totals = dict.fromkeys(TOTAL_KEYS.values(), 0.0)
    meters = top_level(meters)
    for m in meters:
        if m.consumption is not None:
            totals[TOTAL_KEYS[m.kind]] = round(totals[TOTAL_KEYS[m.kind]] + m.consumption, 3)
    costs = [m.cost for m in meters if m.cost is not None]
    if costs:
        totals["cost"] = round(sum(costs), 2)
    return totals


def _change_pct(current: float | None, previous: float | None) -> float | None:
    if current is None or not previous:
        return None
    return round((current - previous) / previous * 100, 1) + 0.0  # never "-0.0"


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def _short(iso: str, lang: str) -> str:
    """``2026-11-18T03:00:00+08:00`` → ``11月18日 03:00`` (``11-18 03:00`` in English)."""
    if lang == "zh":
        return f"{int(iso[5:7])}月{int(iso[8:10])}日 {iso[11:16]}"
    return f"{iso[5:10]} {iso[11:16]}"
