"""The day before a shift, its people are reminded through their own contacts (SPEC §11's
contacts; ``duty.remind_at``, 18:00 by default): "明天（12月8日）夜班 19:00–07:00 由您值班".

Once a day, at or after ``remind_at`` (a service down at that hour reminds when it is back
the same day); the day done is kept in ``state_dir/duty/reminders.json`` so a restart
does not remind twice. The reminder goes through the outbox, as a low-priority
notification: an alarm always goes first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson

from campuswatch.atomicfile import write_atomic
from campuswatch.clock import Clock, now_ms
from ingest.config.duty import DutyConfig
from ingest.duty.roster import Roster
from ingest.duty.routing import Routed
from ingest.outbox import Notification, Outbox
from ingest.outbox.notification import LATER

log = logging.getLogger(__name__)

Reach = Callable[[list[str]], Routed]  # logins -> the channels that reach them


class Reminders:
    """Reminds tomorrow's people of their shift, once a day."""

    def __init__(
        self,
        config: DutyConfig,
        roster: Roster,
        reach: Reach,
        site: str,
        timezone: str,
        clock: Clock,
        state: Path,
    ) -> None:
        self.config = config
        self.roster = roster
        self.reach = reach
        self.site = site
        self.tz = ZoneInfo(timezone)
        self.clock = clock
        self.state = state
        self._done_day: date | None = None  # read from ``state`` at the first check

    def due(self, outbox: Outbox, wake: Callable[[set[str]], None]) -> int:
        """Queue today's reminders if it is time and they were not sent; how many."""
        now = datetime.fromtimestamp(self.clock.time(), self.tz)
        if self._done_day is None:
            self._done_day = self._done()
        if now.time() < self.config.remind_at or self._done_day == now.date():
            return 0
        tomorrow = now.date() + timedelta(days=1)
        queued: set[str] = set()
        count = 0
        with outbox.transaction():
            for entry in self.roster.entries(tomorrow, tomorrow):
                for login in entry.people:
                    routed = self.reach([login])
                    if not routed:
                        log.info(
                            "reminder: %s has no contact; not reminded of %s", login, entry.shift
                        )
                        continue
                    body = self._body(tomorrow, entry.shift)
                    for channel, parts in routed:
                        notification = Notification(body, priority=LATER).with_parts(**parts)
                        outbox.add(channel, notification, now_ms(self.clock))
                        queued.add(channel)
                    count += 1
        self._save(now.date())
        self._done_day = now.date()
        if queued:
            wake(queued)
        return count

    def _body(self, day: date, shift: str) -> dict[str, object]:
        config = self.config.shifts[shift]
        name = config.name or {"day": "白班", "night": "夜班"}.get(shift, shift)
        hours = f"{config.from_:%H:%M}–{config.to:%H:%M}"
        text = f"明天（{day.month}月{day.day}日）{name} {hours} 由您值班。"
        started = datetime.combine(day, config.from_, self.tz)
        return {
            "alert_id": 0,
            "rule": "duty:reminder",
            "device": "",
            "gateway": "",
            "name": None,
            "site": self.site,
            "severity": "info",
            "state": "reminder",
            "title": "值班提醒",
            "message": text,
            "value": None,
            "started_at": started.isoformat(),
            "tags": {},
        }

    def _done(self) -> date | None:
        try:
            return date.fromisoformat(orjson.loads(self.state.read_bytes())["day"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _save(self, day: date) -> None:
        self.state.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_atomic(self.state, orjson.dumps({"day": day.isoformat()}))
