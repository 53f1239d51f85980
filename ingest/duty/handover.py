"""Shift handover (交接班, SPEC §11): a draft filled from what the shift saw, saved with a
note by the outgoing person and confirmed by another guard or admin.

The draft covers the current shift (or, with no shift now, the last 12 hours): the alerts
that fired, those still open (not acknowledged: they carry over to the next shift and
are listed first), those acknowledged and by whom, the last lock check, the rounds done
and missed, visitors still in, work orders not done and devices not heard from lately.
Saving freezes the draft into the record: what the next person confirms is what was
handed over, whatever happens after.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, StringConstraints

from campuswatch.clock import Clock, now_ms
from ingest.duty.books import AlreadyDone, DutyBooks, DutyError, Record
from ingest.duty.roster import Roster
from ingest.duty.rounds import Rounds
from ingest.duty.visitors import Visitors
from ingest.duty.workorders import WorkOrders
from ingest.reports.lock_check import LockCheck
from ingest.rules.model import Alert
from ingest.rules.store import AlertStore

BOOK, CONFIRM = "handovers", "handovers.confirm"
NO_SHIFT = timedelta(hours=12)
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)]
Offline = Callable[[], list[dict[str, Any]]]  # devices not heard from lately


class HandoverIn(BaseModel):
    """``POST /api/duty/handovers``."""

    model_config = ConfigDict(extra="forbid")
    note: Note = ""


class ConfirmIn(BaseModel):
    """``POST /api/duty/handovers/{id}/confirm``."""

    model_config = ConfigDict(extra="forbid")
    note: Note = ""


class HandoverRefused(DutyError):
    """A confirmation that cannot be made (one's own handover, or a second one)."""


def _alert(alert: Alert) -> dict[str, Any]:
    return {
        "id": alert.id,
        "title": alert.title,
        "device": alert.device,
        "name": alert.name,
        "building": alert.tags.get("building"),
        "room": alert.tags.get("room"),
        "severity": alert.severity,
        "state": alert.state,
        "fired_at": alert.started_ms,
        "acknowledged_by": alert.acknowledged_by,
        "acknowledged_at": alert.acknowledged_ms,
    }


class Handovers:
    """The handover book and its drafts."""

    def __init__(
        self,
        books: DutyBooks,
        roster: Roster,
        rounds: Rounds,
        visitors: Visitors,
        workorders: WorkOrders,
        alerts: AlertStore,
        lock_check: LockCheck | None,
        offline: Offline,
        timezone: str,
        clock: Clock,
    ) -> None:
        self.books = books
        self.roster = roster
        self.rounds = rounds
        self.visitors = visitors
        self.workorders = workorders
        self.alerts = alerts
        self.lock_check = lock_check
        self.offline = offline
        self.tz = ZoneInfo(timezone)
        self.clock = clock

    def draft(self) -> dict[str, Any]:
        """What the current shift saw (SPEC ``GET /api/duty/handover/draft``)."""
        now = now_ms(self.clock)
        duty = self.roster.now()
        since = duty.since if duty.since is not None else now - int(NO_SHIFT.total_seconds() * 1000)
        fired = self.alerts.fired_between(since, now + 1)
        active = self.alerts.active_alerts()
        acknowledged = [a for a in fired if a.acknowledged_by] + [
            a for a in active if a.acknowledged_by and (a.started_ms or 0) < since
        ]
        latest = self.lock_check.latest() if self.lock_check else None
        return {
            "shift": duty.shift,
            "since": since,
            "until": duty.until,
            "people": [p.model_dump() for p in duty.people],
            "alerts": {
                "fired": [_alert(a) for a in fired],
                "open": [_alert(a) for a in active if a.state == "firing"],
                "acknowledged": [_alert(a) for a in acknowledged],
            },
            "lock_check": asdict(latest) if latest else None,
            "rounds": [w.model_dump() for w in self._rounds(since, now)],
            "visitors_in": [self.visitors.view(r, admin=False) for r in self.visitors.still_in()],
            "workorders_open": self._orders_open(),
            "devices_offline": self.offline(),
        }

    def save(self, handover: HandoverIn, by: str, login: str | None) -> Record:
        """The outgoing person hands over: the draft frozen with their note. Visitors are
        kept without name or phone (those go with the visitor book's retention)."""
        draft = self.draft()
        draft["visitors_in"] = [
            {"id": v["id"], "visiting": v["visiting"], "in_at": v["in_at"]}
            for v in draft["visitors_in"]
        ]
        body = {"note": handover.note, "draft": draft, "login": login}
        return self.books.append(BOOK, now_ms(self.clock), by, body)

    def confirm(self, rid: int, confirmation: ConfirmIn, by: str, login: str | None) -> Record:
        """Another guard or admin takes over (not the author, known by login, else by
        name; once)."""
        record = self.books.get(BOOK, rid)
        if record is None:
            raise LookupError(f"no handover {rid}")
        author = record.body.get("login")
        if (author is not None and author == login) or (author is None and record.by == by):
            raise HandoverRefused(
                f"handover {rid} is {by}'s own: another person confirms it",
                "这是您自己交的班，要由接班的人确认",
            )
        try:
            return self.books.follow_up(
                CONFIRM, record, now_ms(self.clock), by, confirmation.model_dump(), once=True
            )
        except AlreadyDone as exc:
            raise HandoverRefused(
                f"handover {rid} was confirmed already by {exc.earlier.by}",
                f"这次交班已由 {exc.earlier.by} 接班确认",
            ) from exc

    def view(self, record: Record) -> dict[str, Any]:
        """A saved handover with who confirmed it and when."""
        confirmed = self.books.about(CONFIRM, record.id)
        first = confirmed[0] if confirmed else None
        return {
            **record.as_json(),
            "confirmed_by": first.by if first else None,
            "confirmed_at": first.at_ms if first else None,
            "confirm_note": first.body.get("note") if first else None,
        }

    def _rounds(self, since: int, now: int) -> list[Any]:
        first = datetime.fromtimestamp(since / 1000, self.tz).date()
        last = datetime.fromtimestamp(now / 1000, self.tz).date()
        windows = []
        day = first
        while day <= last:
            windows += [w for w in self.rounds.day(day) if since <= w.due_at <= now]
            day += timedelta(days=1)
        return windows

    def _orders_open(self) -> list[dict[str, Any]]:
        views = [self.workorders.view(r) for r in self.books.all("workorders")]
        return [v for v in views if v["state"] != "done"]
