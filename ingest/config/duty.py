"""``duty`` (SPEC §11 v3): shifts, who is told when nobody is on duty, the channels that
carry people's own contacts, checkpoints and rounds, and the books' limits."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Annotated

from pydantic import Field, model_validator

from campuswatch.configfile import Strict
from campuswatch.durations import ClockTime, Duration
from ingest.config.base import Identifier, Line64, Name
from ingest.config.places import PlaceKey

DAY_MIN = 24 * 60


def _minute(at: time) -> int:
    return at.hour * 60 + at.minute


class ShiftConfig(Strict):
    """One shift: from a time of day to another (past midnight when ``to`` is earlier)."""

    from_: ClockTime = Field(alias="from")
    to: ClockTime
    name: Line64 | None = None  # as people say it (default: 白班, 夜班 for day, night)

    @model_validator(mode="after")
    def _not_empty(self) -> ShiftConfig:
        if self.from_ == self.to:
            raise ValueError("a shift must end at another time than it starts")
        return self

    def minutes(self) -> set[int]:
        """The minutes of the day the shift covers (``from`` included, ``to`` not)."""
        start, end = _minute(self.from_), _minute(self.to)
        length = (end - start) % DAY_MIN
        return {(start + m) % DAY_MIN for m in range(length)}

    def length(self) -> timedelta:
        """How long the shift lasts."""
        return timedelta(minutes=len(self.minutes()))


class ContactsConfig(Strict):
    """The channels that carry a person's own contact: the robot's message @-mentions
    their WeCom user id or DingTalk mobile, the e-mail goes to their address."""

    email: Name | None = None
    wecom: Name | None = None
    dingtalk: Name | None = None


class CheckpointConfig(Strict):
    """A place a round visits; its QR code holds a signed link."""

    id: Identifier
    name: Line64
    place: PlaceKey


class RoundConfig(Strict):
    """A round due at times of day, to be walked within ``within``."""

    id: Identifier
    name: Line64 | None = None  # as people say it (夜间巡逻); default: the id
    at: list[ClockTime] = Field(min_length=1, max_length=48)
    within: Duration = timedelta(minutes=45)
    checkpoints: list[Identifier] = Field(min_length=1, max_length=100)


class DutyConfig(Strict):
    """The duty books (SPEC §11)."""

    shifts: dict[Identifier, ShiftConfig] = Field(default_factory=dict)
    fallback: list[Name] = Field(default_factory=list)
    contacts: ContactsConfig = ContactsConfig()
    checkpoints: list[CheckpointConfig] = Field(default_factory=list)
    rounds: list[RoundConfig] = Field(default_factory=list)
    battery_low_pct: Annotated[float, Field(gt=0, lt=100)] = 20
    sample_min_grams: Annotated[int, Field(ge=1, le=10_000)] = 125
    sample_keep: Duration = timedelta(hours=48)
    visitor_camera: Identifier | None = None  # the gate camera's device id
    visitor_keep: Duration = timedelta(days=90)
    remind_at: ClockTime = time(18, 0)  # the day before a shift, its people are reminded

    @model_validator(mode="after")
    def _consistent(self) -> DutyConfig:
        names = list(self.shifts)
        for i, first in enumerate(names):
            for second in names[i + 1 :]:
                if self.shifts[first].minutes() & self.shifts[second].minutes():
                    raise ValueError(f"shifts {first!r} and {second!r} overlap")
        ids = [c.id for c in self.checkpoints]
        if len(set(ids)) != len(ids):
            raise ValueError("checkpoints: the same id is given twice")
        for r in self.rounds:
            unknown = [c for c in r.checkpoints if c not in ids]
            if unknown:
                raise ValueError(f"rounds {r.id!r}: no checkpoint {unknown[0]!r}")
        round_ids = [r.id for r in self.rounds]
        if len(set(round_ids)) != len(round_ids):
            raise ValueError("rounds: the same id is given twice")
        return self

    def shift_at(self, minute: int) -> str | None:
        """The shift that covers ``minute`` of the day (0-1439), if any."""
        return next((name for name, s in self.shifts.items() if minute in s.minutes()), None)
