"""What the board shows: devices and alerts turned into cards (plain data the templates
render), grouped by building and room, with the words of the site's language."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from campuswatch.clock import local_time
from campuswatch.protocol import DEFAULT_INTERVAL_S
from ingest.config.places import Places
from ingest.config.reports import ClassLimitsConfig
from ingest.registry import OFFLINE_AFTER_INTERVALS, KnownDevice
from ingest.rules.alert_text import location
from ingest.rules.model import Alert
from ingest.web.console.page_text import say

Tone = Literal["ok", "warn", "alarm", "info", "off"]
_SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}


@dataclass(frozen=True, slots=True)
class Badge:
    """One piece of a device's state: ``已锁`` in the tone of good news."""

    text: str
    tone: Tone


@dataclass(slots=True)
class DeviceCard:
    """A device on the board."""

    dom_id: str
    site: str
    gateway: str
    device: str
    kind: str
    name: str
    building: str
    room: str
    interval_s: int
    seen_ms: int | None
    badges: list[Badge] = field(default_factory=list)
    snapshot_url: str | None = None
    place: str = ""  # building and room as people read them (shown where cards are mixed)
    door_open: bool = False  # a door open or unlocked (what the summary counts)

    @property
    def alarm(self) -> bool:
        """True when a badge is an alarm (the card is drawn red)."""
        return any(b.tone == "alarm" for b in self.badges)

    def shown(self) -> tuple[object, ...]:
        """Everything the card shows but the age of its last reading (which the browser
        counts itself), to tell whether it must be sent again."""
        return (self.name, self.building, self.room, tuple(self.badges), self.snapshot_url)


@dataclass(slots=True)
class Room:
    """The devices of one room."""

    name: str
    cards: list[DeviceCard]


@dataclass(slots=True)
class Building:
    """The rooms of one building."""

    name: str
    rooms: list[Room]


@dataclass(frozen=True, slots=True)
class AlertCard:
    """An active alert on the board."""

    dom_id: str
    id: int
    severity: str
    state: str
    title: str
    place: str
    since: str
    since_ms: int
    acknowledged_by: str | None
    building: str = ""  # the id: a person's areas come first (the browser reorders too)


def dom_id(prefix: str, *parts: str) -> str:
    """An element id for any device key (ids may hold spaces, quotes or Chinese)."""
    return prefix + hashlib.sha1("\0".join(parts).encode(), usedforsecurity=False).hexdigest()[:16]


def device_card(
    dev: KnownDevice,
    limits: dict[str, ClassLimitsConfig],
    gateway_status: str | None,
    lang: str,
    places: Places,
) -> DeviceCard:
    """The card of one device, with badges for what its kind reports."""
    info = dev.info
    tags = info.tags if info else {}
    card = DeviceCard(
        dom_id=dom_id("d-", dev.site, dev.gateway, dev.device),
        site=dev.site,
        gateway=dev.gateway,
        device=dev.device,
        kind=dev.kind,
        name=(info.name if info and info.name else dev.device),
        building=tags.get("building", ""),
        room=tags.get("room", ""),
        interval_s=info.interval_s if info else DEFAULT_INTERVAL_S,
        seen_ms=dev.last_seen_ms,
        place=places.where(tags),
        door_open=dev.kind == "door"
        and (dev.values.get("open") is True or dev.values.get("locked") is False),
    )
    card.badges = badges(dev.kind, dev.values, limits.get(tags.get("class", "")), lang)
    if dev.kind == "gateway":
        card.badges.insert(0, _gateway_badge(gateway_status, lang))
    if dev.kind == "camera":
        query = urlencode(
            {"site": dev.site, "gateway": dev.gateway, "v": dev.values.get("snapshot", "")}
        )
        card.snapshot_url = f"/api/cameras/{quote(dev.device, safe='')}/snapshots/latest?{query}"
    return card


def badges(
    kind: str, values: Mapping[str, object], limits: ClassLimitsConfig | None, lang: str
) -> list[Badge]:
    """What a device of ``kind`` reports, in words and tones."""
    out: list[Badge] = []

    def flag(name: str, true: str, false: str | None, tone_true: Tone, tone_false: Tone) -> None:
        value = values.get(name)
        if value is True:
            out.append(Badge(say(true, lang), tone_true))
        elif value is False and false is not None:
            out.append(Badge(say(false, lang), tone_false))

    if kind == "door":
        flag("open", "door.open", "door.closed", "warn", "ok")
        flag("locked", "door.locked", "door.unlocked", "ok", "warn")
    elif kind == "smoke":
        flag("smoke", "smoke.alarm", "smoke.ok", "alarm", "ok")
        flag("fault", "fault", None, "warn", "ok")
    elif kind == "leak":
        flag("leak", "leak.alarm", "leak.ok", "alarm", "ok")
    elif kind == "panic":
        flag("pressed", "panic.alarm", "panic.ok", "alarm", "ok")
    elif kind == "motion":
        flag("motion", "motion.yes", "motion.no", "info", "ok")
    elif kind == "temperature":
        out.extend(_temperature(values, limits, lang))
    elif kind == "camera":
        out.extend(_camera(values, lang))
    out.extend(_measures(kind, values))
    flag("battery_low", "battery_low", None, "warn", "ok")
    if kind != "camera":
        flag("tamper", "tamper", None, "warn", "ok")
    return out


def _temperature(
    values: Mapping[str, object], limits: ClassLimitsConfig | None, lang: str
) -> list[Badge]:
    celsius = values.get("celsius")
    if not isinstance(celsius, int | float) or isinstance(celsius, bool):
        return []
    text = f"{celsius:.1f} ℃"
    if limits is None:
        return [Badge(text, "info")]
    low = limits.min is not None and celsius < limits.min
    high = limits.max is not None and celsius > limits.max
    if not (low or high):
        return [Badge(text, "ok")]
    span = f"{_g(limits.min)}～{_g(limits.max)} ℃"
    return [Badge(text, "alarm"), Badge(say("temp.out", lang, limits=span), "alarm")]


def _g(limit: float | None) -> str:
    return "" if limit is None else f"{limit:g}"


def _camera(values: Mapping[str, object], lang: str) -> list[Badge]:
    if values.get("online") is False:
        return [Badge(say("camera.offline", lang), "alarm")]
    out = []
    persons = values.get("persons")
    if isinstance(persons, int) and not isinstance(persons, bool) and persons > 0:
        out.append(Badge(say("camera.persons", lang, n=persons), "info"))
    if values.get("tamper") is True:
        out.append(Badge(say("camera.tamper", lang), "warn"))
    motion = values.get("motion")
    if motion is not None:
        out.append(Badge(say("camera.motion" if motion else "camera.quiet", lang), "ok"))
    return out


_MEASURES = {
    "electricity": (("energy_kwh", "{:.1f} kWh"), ("power_w", "{:.0f} W")),
    "water": (("volume_m3", "{:.2f} m³"), ("flow_m3h", "{:.2f} m³/h")),
    "temperature": (("humidity", "{:.0f} %"),),
}


def _measures(kind: str, values: Mapping[str, object]) -> list[Badge]:
    out = []
    for name, pattern in _MEASURES.get(kind, ()):
        value = values.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            out.append(Badge(pattern.format(value), "info"))
    return out


def _gateway_badge(status: str | None, lang: str) -> Badge:
    if status in ("online", "offline", "stopped"):
        tone: Tone = "ok" if status == "online" else "alarm"
        return Badge(say(f"gateway.{status}", lang), tone)
    return Badge(say("gateway.unknown", lang), "off")


def silent(card: DeviceCard, now_ms: int) -> bool:
    """True when the device is overdue (no reading for 3 x its interval, or never)."""
    if card.seen_ms is None:
        return True
    return now_ms - card.seen_ms > OFFLINE_AFTER_INTERVALS * card.interval_s * 1000


def age(seen_ms: int | None, now_ms: int, lang: str) -> str:
    """``3 分钟前``."""
    if seen_ms is None:
        return say("age.never", lang)
    seconds = max(0, now_ms - seen_ms) // 1000
    for unit, size in (("d", 86_400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return say(f"age.{unit}", lang, n=seconds // size)
    return say("age.s", lang, n=seconds) if seconds >= 5 else say("age.now", lang)


def group(cards: Iterable[DeviceCard], lang: str, places: Places) -> list[Building]:
    """Cards by building and room, named as people read them (alarms first within a
    room, then by name)."""
    by_place: dict[str, dict[str, list[DeviceCard]]] = {}
    for card in cards:
        by_place.setdefault(card.building, {}).setdefault(card.room, []).append(card)
    buildings = []
    for building in sorted(by_place, key=lambda b: (b == "", b)):
        rooms = [
            Room(
                places.room(building, room) if room else "",
                sorted(found, key=lambda c: (not c.alarm, c.kind, c.name)),
            )
            for room, found in sorted(by_place[building].items(), key=lambda r: (r[0] == "", r[0]))
        ]
        name = places.building(building) if building else say("no_building", lang)
        buildings.append(Building(name, rooms))
    return buildings


def alert_card(alert: Alert, tz: ZoneInfo, lang: str, places: Places) -> AlertCard:
    """The card of an active alert."""
    since = local_time(alert.since_ms, tz).strftime("%m-%d %H:%M")
    return AlertCard(
        dom_id=f"a-{alert.id}",
        id=alert.id,
        severity=alert.severity,
        state=alert.state,
        title=alert.title,
        place=location(alert, places),
        since=say("alerts.since", lang, time=since),
        since_ms=alert.since_ms,
        acknowledged_by=alert.acknowledged_by,
        building=alert.tags.get("building", ""),
    )


def alert_order(alerts: Iterable[Alert], areas: tuple[str, ...] = ()) -> list[Alert]:
    """Active alerts as the board lists them: those of the person's ``areas`` first
    (SPEC §9 v3), then waiting for a person first, then by severity, newest first."""

    def key(a: Alert) -> tuple[bool, bool, int, int]:
        outside = bool(areas) and a.tags.get("building") not in areas
        return (outside, a.state == "acknowledged", _SEVERITY_ORDER.get(a.severity, 3), -a.since_ms)

    return sorted(alerts, key=key)
