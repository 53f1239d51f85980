"""Night rounds (巡逻, SPEC §11): checkpoints whose QR codes hold signed links, visits
recorded by scanning them, and each round's windows: due at its times of day, walked
within ``within``.

A visit counts for a window when it falls in [due_at, due_at + within]; a window is done
when every checkpoint of its round was visited in it; once it has closed, what nobody
visited is ``missed`` and the ``round_missed`` rules hear of it (within a minute: the
duty timer checks every 30 s). Windows that closed while the service was down are told
once when it is back; windows due before the service first ran never are. A visit made
seconds after the same person's visit to another checkpoint is flagged ``too_fast``
(someone scanning codes carried to one place), not silently accepted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson
from pydantic import BaseModel

from campuswatch.clock import Clock, now_ms
from ingest.config.duty import CheckpointConfig, DutyConfig, RoundConfig
from ingest.duty.books import DutyBooks, Record
from ingest.links import LinkSigner

log = logging.getLogger(__name__)

BOOK = "visits"
TOO_FAST_MS = 20_000  # two checkpoints scanned closer than this by one person
SENSED_MS = 5 * 60_000  # a sensor's sighting this close to a scan confirms it
Report = Callable[[str, str, list[str]], None]  # (round id, what to say, missed ids)
# places -> for each place with motion sensors or door contacts, when they saw someone
# (motion, a door opened) in [start, end]; a place without such sensors is left out.
Sightings = Callable[[set[str], int, int], dict[str, list[int]]]


class Visit(BaseModel):
    """One checkpoint visit in a round window."""

    checkpoint: str
    at: int
    by: str
    note: str
    too_fast: bool = False
    # Whether the place's own motion sensors or door contacts saw someone within
    # SENSED_MS of the scan (None: the place has none, or they cannot be read now).
    sensed: bool | None = None
    # Doors found open or unlocked at the scan ("lock it now"), and those of them the
    # lock sensor now says are closed and locked.
    to_lock: list[str] = []
    locked: list[str] = []


class RoundWindow(BaseModel):
    """``GET /api/duty/rounds`` (SPEC §11): one window of one round."""

    round: str
    name: str  # the round as people say it
    due_at: int
    done_at: int | None
    visits: list[Visit]
    missed: list[str]


class Rounds:
    """Checkpoints, their links and visits, and the rounds' windows."""

    def __init__(
        self,
        books: DutyBooks,
        config: DutyConfig,
        signer: LinkSigner,
        timezone: str,
        clock: Clock,
        state: Path,
        sightings: Sightings | None = None,
        secure: Callable[[str, int], bool] = lambda _device, _since: False,
    ) -> None:
        self.books = books
        self.config = config
        self.signer = signer
        self.tz = ZoneInfo(timezone)
        self.clock = clock
        self.state = state  # when windows were last checked (JSON)
        self.checkpoints = {c.id: c for c in config.checkpoints}
        self.sightings = sightings
        self.secure = secure  # a door closed and locked by its sensor, in a reading since

    # ------------------------------------------------------------------ checkpoints

    def url(self, checkpoint: str) -> str:
        """The absolute signed link a checkpoint's QR code holds (no expiry; ``campus-ingest
        links rotate`` changes every one)."""
        sig = self.signer.signature("checkpoint", checkpoint)
        return f"{self.signer.base_url}/duty/checkpoints/{checkpoint}?sig={sig}"

    def signed(self, checkpoint: str, sig: str | None) -> CheckpointConfig | None:
        """The checkpoint if ``sig`` is its link's (else None: forged, old or unknown)."""
        found = self.checkpoints.get(checkpoint)
        if found is None or not self.signer.check(sig, "checkpoint", checkpoint):
            return None
        return found

    def visit(self, checkpoint: CheckpointConfig, by: str, note: str, to_lock: list[str]) -> Record:
        """Record a visit of ``checkpoint`` now, with the doors found to lock there."""
        body = {"checkpoint": checkpoint.id, "note": note, "to_lock": to_lock}
        return self.books.append(BOOK, now_ms(self.clock), by, body)

    # ------------------------------------------------------------------ windows

    def day(self, day: date, *, sense: bool = False) -> list[RoundWindow]:
        """Every window due on ``day`` (site time), in order; ``sense``: mark each visit
        confirmed or not by its place's sensors (a query of InfluxDB)."""
        now = now_ms(self.clock)
        windows = [self._window(r, day, at) for r in self.config.rounds for at in r.at]
        start = min((w[1] for w in windows), default=0)
        end = max((w[2] for w in windows), default=0)
        visits = self._visits(start, end + 1)
        if sense and self.sightings is not None and visits:
            self._sense(visits, start - SENSED_MS, end + SENSED_MS)
        made = [self._judge(r, due, close, visits, now) for r, due, close in windows]
        return sorted(made, key=lambda w: (w.due_at, w.round))

    def check_closed(self, report: Report) -> None:
        """Tell ``report`` of every window closed since the last check (the first check
        only remembers now: rounds due before the service first ran are not told)."""
        now = now_ms(self.clock)
        last = self._last_checked()
        if last is not None and self.config.rounds:
            longest = max(r.within for r in self.config.rounds)
            first = datetime.fromtimestamp(last / 1000, self.tz) - longest - timedelta(days=1)
            day = first.date()
            while day <= datetime.fromtimestamp(now / 1000, self.tz).date():
                for window in self.day(day):
                    self._tell(window, last, now, report)
                day += timedelta(days=1)
        self._save_checked(now)

    def _tell(self, window: RoundWindow, last: int, now: int, report: Report) -> None:
        config = next(r for r in self.config.rounds if r.id == window.round)
        close = window.due_at + int(config.within.total_seconds() * 1000)
        if not last < close <= now:
            return
        due = datetime.fromtimestamp(window.due_at / 1000, self.tz).strftime("%H:%M")
        names = "、".join(self.checkpoints[c].name for c in window.missed)
        what = f"{window.name} {due}" + (f"（漏：{names}）" if names else "")
        log.info("round %s due %s closed; missed: %s", window.round, due, window.missed or "none")
        report(window.round, what, window.missed)

    def _window(self, config: RoundConfig, day: date, at: time) -> tuple[RoundConfig, int, int]:
        due = datetime.combine(day, at, self.tz)
        close = due + config.within
        return config, int(due.timestamp() * 1000), int(close.timestamp() * 1000)

    def _judge(
        self, config: RoundConfig, due: int, close: int, visits: list[Visit], now: int
    ) -> RoundWindow:
        mine = [v for v in visits if due <= v.at <= close and v.checkpoint in config.checkpoints]
        first: dict[str, int] = {}
        for v in mine:
            first.setdefault(v.checkpoint, v.at)
        done = max(first.values()) if len(first) == len(set(config.checkpoints)) else None
        missed = [c for c in config.checkpoints if c not in first] if now > close else []
        return RoundWindow(
            round=config.id,
            name=config.name or config.id,
            due_at=due,
            done_at=done,
            visits=mine,
            missed=missed,
        )

    def _visits(self, start: int, end: int) -> list[Visit]:
        """Visits in [start, end), each flagged when too fast after that person's last."""
        visits: list[Visit] = []
        last: dict[str, Visit] = {}
        for r in self.books.between(BOOK, start - TOO_FAST_MS, end):
            to_lock = list(r.body.get("to_lock", []))
            visit = Visit(
                checkpoint=r.body["checkpoint"],
                at=r.at_ms,
                by=r.by,
                note=r.body["note"],
                to_lock=to_lock,
                locked=[d for d in to_lock if self.secure(d, r.at_ms)],
            )
            before = last.get(r.by)
            if before and before.checkpoint != visit.checkpoint:
                visit.too_fast = visit.at - before.at < TOO_FAST_MS
            last[r.by] = visit
            if visit.at >= start:
                visits.append(visit)
        return visits

    def _sense(self, visits: list[Visit], start: int, end: int) -> None:
        """Mark each visit seen or not by its place's own sensors (one query a day)."""
        assert self.sightings is not None
        places = {
            v.checkpoint: self.checkpoints[v.checkpoint].place
            for v in visits
            if v.checkpoint in self.checkpoints
        }
        seen = self.sightings(set(places.values()), start, end)
        for visit in visits:
            times = seen.get(places.get(visit.checkpoint, ""))
            if times is not None:
                visit.sensed = any(abs(t - visit.at) <= SENSED_MS for t in times)

    def _last_checked(self) -> int | None:
        try:
            checked = orjson.loads(self.state.read_bytes())["checked_ms"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return checked if isinstance(checked, int) else None

    def _save_checked(self, now: int) -> None:
        self.state.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = self.state.with_suffix(".tmp")
        temporary.write_bytes(orjson.dumps({"checked_ms": now}))
        temporary.replace(self.state)
