"""The nightly lock check (落锁检查, the gatekeeper's round of every room's lock).

At each time of ``lock_check.at`` (a job like the reports: see ingest/reports/jobs.py)
every door is looked at as the registry knows it: open, unlocked, or silent (nothing for
three of its intervals, or its gateway offline). The patrol gets one message listing
them building by building, or saying that every door is closed and locked; the latest
check is kept in ``state_dir/lock-check.json`` for the console.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from campuswatch.atomicfile import write_atomic
from campuswatch.clock import Clock
from campuswatch.i18n import Catalogue
from campuswatch.protocol import DEFAULT_INTERVAL_S
from ingest.config.places import Places
from ingest.config.reports import LockCheckConfig
from ingest.registry import OFFLINE_AFTER_INTERVALS, KnownDevice, Registry
from ingest.rules.conditions import compile_where

WORDS = Catalogue(
    {
        "title": ("【落锁检查 {time}】", "[Lock check {time}] "),
        "all_good": ("全部已关闭上锁（{n} 扇门）", "every door is closed and locked ({n})"),
        "count": ("{n} 处未关好：", "{n} door(s) need a look:"),
        "no_building": ("其他", "elsewhere"),
        "open": ("开着", "open"),
        "unlocked": ("未锁", "unlocked"),
        "silent": ("无数据", "silent"),
        "sep": ("；", "; "),
        "colon": ("：", ": "),
    }
)


@dataclass(frozen=True, slots=True)
class DoorProblem:
    """A door found open, unlocked or silent."""

    building: str
    room: str
    name: str
    device: str
    problems: tuple[str, ...]  # "open", "unlocked", "silent"


@dataclass(slots=True)
class LockCheckResult:
    """One check: when, how many doors were looked at, and the ones to see to."""

    at: str  # ISO time in the site timezone
    doors: int
    problems: list[DoorProblem] = field(default_factory=list)


class LockCheck:
    """Looks at every door and words the result."""

    def __init__(
        self,
        registry: Registry,
        config: LockCheckConfig,
        clock: Clock,
        lang: str,
        path: Path,
        places: Places | None = None,
    ) -> None:
        self.registry = registry
        self.places = places or Places()
        self.clock = clock
        self.lang = lang
        self.path = path
        self._matches = compile_where(config.where)
        self._lock = threading.Lock()

    def check(self, at: datetime) -> LockCheckResult:
        """Look at every door now; the result is kept as the latest check."""
        now_ms = int(self.clock.time() * 1000)
        statuses = self.registry.gateway_status()
        doors = [d for d in self.registry.devices() if d.kind == "door" and self._wanted(d)]
        result = LockCheckResult(at.isoformat(timespec="minutes"), len(doors))
        for dev in doors:
            problems = _problems(dev, statuses.get((dev.site, dev.gateway)), now_ms)
            if problems:
                tags = dev.info.tags if dev.info else {}
                name = (dev.info.name if dev.info else None) or dev.device
                result.problems.append(
                    DoorProblem(
                        tags.get("building", ""), tags.get("room", ""), name, dev.device, problems
                    )
                )
        result.problems.sort(key=lambda p: (p.building, p.room, p.name))
        with self._lock:
            write_atomic(self.path, orjson.dumps(asdict(result)))
        return result

    def latest(self) -> LockCheckResult | None:
        """The latest check kept, if any."""
        with self._lock:
            if not self.path.exists():
                return None
            doc = orjson.loads(self.path.read_bytes())
        doors = [DoorProblem(**{**p, "problems": tuple(p["problems"])}) for p in doc["problems"]]
        return LockCheckResult(doc["at"], doc["doors"], doors)

    def message(self, result: LockCheckResult) -> tuple[str, str]:
        """Title and text of the patrol's message about ``result``."""
        lang = self.lang
        title = WORDS.say("title", lang, time=result.at[11:16])
        if not result.problems:
            return title + WORDS.say("all_good", lang, n=result.doors), ""
        lines = [WORDS.say("count", lang, n=len(result.problems))]
        for building, doors in _by_building(result.problems):
            where = self.places.building(building) if building else WORDS.say("no_building", lang)
            listed = WORDS.say("sep", lang).join(self.door_line(d) for d in doors)
            lines.append(f"{where}{WORDS.say('colon', lang)}{listed}")
        return title + lines[0], "\n".join(lines[1:])

    def door_line(self, door: DoorProblem) -> str:
        """``小一班教室 后门 未锁`` (the room as people read it)."""
        words = "、".join(WORDS.say(p, self.lang) for p in door.problems)
        room = self.places.room(door.building, door.room) if door.room else ""
        return " ".join(part for part in (room, door.name, words) if part)

    def _wanted(self, dev: KnownDevice) -> bool:
        tags = dict(dev.info.tags) if dev.info else {}
        tags.update(site=dev.site, gateway=dev.gateway, device=dev.device)
        return self._matches(tags)


def _problems(dev: KnownDevice, gateway_status: str | None, now_ms: int) -> tuple[str, ...]:
    interval_ms = (dev.info.interval_s if dev.info else DEFAULT_INTERVAL_S) * 1000
    silent = (
        dev.last_seen_ms is None
        or now_ms - dev.last_seen_ms > OFFLINE_AFTER_INTERVALS * interval_ms
        or gateway_status in ("offline", "stopped")
    )
    if silent:
        return ("silent",)  # what it said last is not what it is now
    found = []
    if dev.values.get("open") is True:
        found.append("open")
    if dev.values.get("locked") is False:
        found.append("unlocked")
    return tuple(found)


def _by_building(doors: Iterable[DoorProblem]) -> list[tuple[str, list[DoorProblem]]]:
    groups: dict[str, list[DoorProblem]] = {}
    for door in doors:
        groups.setdefault(door.building, []).append(door)
    return list(groups.items())


def as_body(title: str, text: str, site: str, at: datetime) -> dict[str, Any]:
    """The notification body of a lock check (SPEC §5 keys, ``state: report``)."""
    return {
        "alert_id": 0,
        "rule": "lock-check",
        "device": "",
        "gateway": "",
        "name": None,
        "site": site,
        "severity": "info",
        "state": "report",
        "title": title,
        "message": text or title,
        "value": None,
        "started_at": at.isoformat(timespec="seconds"),
        "tags": {},
    }
