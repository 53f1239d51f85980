"""The roster on a manual clock: a night shift covers the early morning after the day it
starts; empty shifts ahead are found; the config refuses overlapping shifts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from pydantic import ValidationError

from ingest.config.duty import DutyConfig
from ingest.duty.books import DutyBooks
from ingest.duty.roster import Roster, RosterEntry
from tests.clock import ManualClock
from tests.ingest.reports.data import local

CONFIG = DutyConfig.model_validate(
    {"shifts": {"day": {"from": "07:00", "to": "19:00"}, "night": {"from": "19:00", "to": "07:00"}}}
)
NAMES = {"zhang": "张师傅", "li": "李师傅"}


@pytest.fixture
def books(tmp_path: Path) -> Iterator[DutyBooks]:
    b = DutyBooks(tmp_path / "duty.db")
    b.open()
    yield b
    b.close()


def _roster(books: DutyBooks, clock: ManualClock) -> Roster:
    return Roster(books, CONFIG, "Asia/Shanghai", clock, lambda: NAMES)


def test_the_night_shift_covers_the_morning_after(books: DutyBooks) -> None:
    clock = ManualClock(local("2026-12-08 03:00").timestamp())
    roster = _roster(books, clock)
    roster.put([RosterEntry(date=date(2026, 12, 7), shift="night", people=["zhang"])], "王主任")
    now = roster.now()
    assert (now.shift, [p.name for p in now.people]) == ("night", ["张师傅"])
    assert now.since == int(local("2026-12-07 19:00").timestamp() * 1000)
    assert now.until == int(local("2026-12-08 07:00").timestamp() * 1000)
    clock.advance(4 * 3600)  # 07:00: the day shift of the 8th, nobody on it
    assert (roster.now().shift, roster.now().people) == ("day", [])


def test_the_roster_is_read_back_and_the_last_change_wins(books: DutyBooks) -> None:
    clock = ManualClock(local("2026-12-07 09:00").timestamp())
    day = date(2026, 12, 7)
    _roster(books, clock).put(
        [
            RosterEntry(date=day, shift="day", people=["zhang"]),
            RosterEntry(date=day, shift="day", people=["li"]),  # the later entry wins
        ],
        "王主任",
    )
    again = _roster(books, clock)
    again.load()  # a restart
    assert [p.login for p in again.now().people] == ["li"]
    assert len(books.all("roster")) == 1


def test_empty_shifts_ahead_are_found(books: DutyBooks) -> None:
    clock = ManualClock(local("2026-12-07 20:00").timestamp())
    names = dict(NAMES)
    roster = Roster(books, CONFIG, "Asia/Shanghai", clock, lambda: names)
    filled = [
        RosterEntry(date=date(2026, 12, d), shift=s, people=["zhang"])
        for d in range(7, 22)
        for s in ("day", "night")
    ]
    filled = [e for e in filled if (e.date.day, e.shift) not in ((9, "night"), (12, "day"))]
    roster.put(filled, "王主任")
    assert roster.empty_ahead(days=5) == [(date(2026, 12, 9), "night"), (date(2026, 12, 12), "day")]
    del names["zhang"]  # disabled: his shifts are empty
    assert (date(2026, 12, 7), "night") in roster.empty_ahead(days=1)


@pytest.mark.parametrize(
    ("shifts", "why"),
    [
        ({"a": {"from": "07:00", "to": "19:00"}, "b": {"from": "18:00", "to": "07:00"}}, "overlap"),
        ({"a": {"from": "07:00", "to": "07:00"}}, "another time"),
        ({"a": {"from": "07:00", "to": "25:00"}}, "not a valid time of day"),
    ],
)
def test_bad_shifts_are_refused(shifts: dict[str, object], why: str) -> None:
    with pytest.raises(ValidationError, match=why):
        DutyConfig.model_validate({"shifts": shifts})
