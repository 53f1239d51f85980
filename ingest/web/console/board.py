"""The board's content from the service's live state: device cards by building and room,
the gateways, the active alerts, and tonight's doors."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from campuswatch.clock import now_ms
from ingest.app import IngestService
from ingest.registry import KnownDevice
from ingest.web.console import views
from ingest.web.console.page_text import say, word
from ingest.web.console.views import AlertCard, DeviceCard

ATTENTION_SHOWN = 5  # a storm of alarms is listed below, not in the summary
EVENING = 17  # from this hour the board asks about visitors not signed out


class BoardState:
    """Reads the registry and the alert store into cards."""

    def __init__(self, service: IngestService) -> None:
        self.service = service
        self.lang = service.config.site.language
        self.tz = ZoneInfo(service.config.site.timezone)
        self.limits = service.config.reports.class_limits()
        self.places = service.places

    def card(self, dev: KnownDevice) -> DeviceCard:
        """One device's card."""
        status = self.service.registry.gateway_status().get((dev.site, dev.gateway))
        return views.device_card(dev, self.limits, status, self.lang, self.places)

    def cards(self) -> list[DeviceCard]:
        """Every device's card."""
        statuses = self.service.registry.gateway_status()
        return [
            views.device_card(
                dev, self.limits, statuses.get((dev.site, dev.gateway)), self.lang, self.places
            )
            for dev in self.service.registry.devices()
        ]

    def alerts(self, areas: tuple[str, ...] = ()) -> list[AlertCard]:
        """The active alerts, in the board's order (``areas``' first)."""
        active = self.service.alerts.active()
        ordered = views.alert_order(active, areas)
        return [views.alert_card(a, self.tz, self.lang, self.places) for a in ordered]

    def summary(self, cards: list[DeviceCard], alerts: list[AlertCard]) -> dict[str, Any]:
        """The line at the top and what needs a person: "1 处门未关好 · 2 条告警待处理 ·
        网关全部在线", then each device in alarm or a door open or unlocked."""
        devices = [c for c in cards if c.kind != "gateway"]
        doors = [c for c in devices if c.door_open]
        attention = [c for c in devices if c.alarm or c.door_open]
        offline = sum(1 for c in cards if c.kind == "gateway" and c.alarm)
        waiting = sum(1 for a in alerts if a.state == "firing")
        lang = self.lang
        parts = [say("summary.doors", lang, n=len(doors))] if doors else []
        parts.append(
            say("summary.alerts", lang, n=waiting) if waiting else say("summary.no_alerts", lang)
        )
        parts.append(
            say("summary.gateways_off", lang, n=offline)
            if offline
            else say("summary.gateways_ok", lang)
        )
        duty = self.duty()
        calm = not doors and not waiting and not offline and not attention and not duty["warn"]
        shown = attention[:ATTENTION_SHOWN]  # the rest are on the board below
        more = len(attention) - len(shown)
        line = " · ".join(parts)
        return {"line": line, "attention": shown, "more": more, "calm": calm, "duty": duty}

    def duty(self) -> dict[str, Any]:
        """Who is on duty now, or that nobody is, and the empty shifts ahead (SPEC §11);
        nothing when the site keeps no roster."""
        duty = self.service.duty
        notes = " · ".join(part for part in (self._muted(), self._visitors()) if part)
        if not duty.config.shifts:
            return {"line": "", "warn": False, "ahead": "", "notes": notes}
        now = duty.roster.now()
        empty = duty.roster.empty_ahead()
        ahead = [e for e in empty if (e[1], e[0]) != (now.shift, self._shift_day(now.since))]
        ahead_line = say("duty.empty_ahead", self.lang, n=len(ahead)) if ahead else ""
        if now.shift is None:
            line = say("duty.no_shift", self.lang)
            return {"line": line, "warn": False, "ahead": ahead_line, "notes": notes}
        named = duty.config.shifts[now.shift].name
        shift = named or word("shift", now.shift, self.lang)
        until = datetime.fromtimestamp((now.until or 0) / 1000, self.tz).strftime("%H:%M")
        if not now.people:
            line = say("duty.nobody", self.lang, shift=shift)
            return {"line": line, "warn": True, "ahead": ahead_line, "notes": notes}
        names = "、".join(p.name for p in now.people)
        line = say("duty.on", self.lang, names=names, shift=shift, until=until)
        return {"line": line, "warn": bool(ahead), "ahead": ahead_line, "notes": notes}

    def _visitors(self) -> str:
        """In the evening (from EVENING), the visitors not signed out: who is still in?"""
        if self.service.site_now().hour < EVENING:
            return ""
        inside = self.service.duty.visitors.still_in()
        return say("duty.visitors_in", self.lang, n=len(inside)) if inside else ""

    def _muted(self) -> str:
        """``维修静音：厨房烟感（至 12-08 10:00）`` for devices muted by a repair order."""
        found = []
        for (site, gateway, device), until in self.service.duty.workorders.muted_now():
            info = self.service.registry.device_info(site, gateway, device)
            name = info.name if info and info.name else device
            when = datetime.fromtimestamp(until / 1000, self.tz).strftime("%m-%d %H:%M")
            found.append(say("duty.muted_one", self.lang, name=name, until=when))
        return say("duty.muted", self.lang, devices="、".join(found)) if found else ""

    def _shift_day(self, since_ms: int | None) -> date | None:
        if since_ms is None:
            return None
        return datetime.fromtimestamp(since_ms / 1000, self.tz).date()

    def board(self, building: str | None, areas: tuple[str, ...] = ()) -> dict[str, Any]:
        """What ``_board.html`` shows (one building's devices, or all with the gateways;
        the alerts of ``areas`` first)."""
        cards = self.cards()
        devices = [c for c in cards if c.kind != "gateway"]
        ids = sorted({c.building for c in devices if c.building})
        names = [(b, self.places.building(b)) for b in ids]  # (id for the link, name)
        shown = [c for c in devices if building is None or c.building == building]
        alerts = self.alerts(areas)
        return {
            "summary": self.summary(cards, alerts),
            "alerts": alerts,
            "gateways": [] if building else [c for c in cards if c.kind == "gateway"],
            "buildings": views.group(shown, self.lang, self.places),
            "building_names": names,
            "building": building,
        }

    def tonight(self) -> dict[str, Any]:
        """What ``_tonight.html`` shows: every door that is open or unlocked."""
        cards = [self.card(dev) for dev in self.service.registry.devices() if dev.kind == "door"]
        doors = sorted(
            (c for c in cards if c.door_open), key=lambda c: (c.building, c.room, c.name)
        )
        now = now_ms(self.service.clock)
        # Fine: heard from lately and closed and locked as far as it reports (a silent door
        # is no news: the lock check lists it).
        fine = sum(1 for c in cards if not c.door_open and not views.silent(c, now))
        return {
            "doors": doors,
            "fine": fine,
            "building_names": [],
            "building": None,
            "lock_check": self.lock_check(),
        }

    def lock_check(self) -> dict[str, Any] | None:
        """The latest lock check, worded as its message was: a title and a line a building."""
        checker = self.service.lock_check
        latest = checker.latest() if checker else None
        if checker is None or latest is None:
            return None
        title, text = checker.message(latest)
        return {"title": title, "lines": text.splitlines(), "ok": not latest.problems}
