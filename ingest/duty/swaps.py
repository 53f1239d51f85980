"""Shift swaps (换班, SPEC §11 roster): the person on a shift asks another to take it; the
other consents; an admin approves, and only then does the roster change. Each step is a
record (who and when), so the roster's history says why a name changed.

A request names one day, one shift, who gives it (the person asking, who must be on it)
and who takes it (who must not be). A refusal by either person, or by the admin, ends it.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints

from campuswatch.clock import Clock, now_ms
from ingest.duty.books import DutyBooks, DutyError, Record
from ingest.duty.roster import Roster, RosterEntry

BOOK, STEPS = "swaps", "swaps.steps"
Login = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class SwapIn(BaseModel):
    """``POST /api/duty/swaps``: give my shift of ``date`` to ``with``."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    date: date
    shift: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    taker: Login


class SwapRefused(DutyError):
    """A swap or a step of one that cannot be made (the message says why)."""


class Swaps:
    """The swap book: requests, consents, approvals."""

    def __init__(self, books: DutyBooks, roster: Roster, clock: Clock) -> None:
        self.books = books
        self.roster = roster
        self.clock = clock

    def ask(self, swap: SwapIn, giver: str) -> Record:
        """``giver`` (a login) asks ``swap.taker`` to take their shift."""
        people = self._people(swap.date, swap.shift)
        if giver not in people:
            raise SwapRefused(
                f"{giver} is not on the {swap.shift} shift of {swap.date}", "您不在这个班次上"
            )
        if swap.taker in people or swap.taker == giver:
            raise SwapRefused(f"{swap.taker} is on that shift already", "对方已经在这个班次上")
        if swap.taker not in self.roster.names():
            raise SwapRefused(
                f"nobody who may log in is {swap.taker!r}", f"没有登录名为 {swap.taker} 的人"
            )
        body = {**swap.model_dump(mode="json"), "giver": giver}
        return self.books.append(BOOK, now_ms(self.clock), giver, body)

    def step(self, rid: int, step: str, login: str, is_admin: bool, by: str) -> Record:
        """``consent`` (the taker), ``approve`` (an admin, after the consent: the roster
        changes) or ``refuse`` (either person or an admin)."""
        record = self.books.get(BOOK, rid)
        if record is None:
            raise LookupError(f"no swap {rid}")
        body = record.body

        def allowed(earlier: list[Record]) -> None:
            done = [e.body["step"] for e in earlier]
            if "refuse" in done or "approve" in done:
                raise SwapRefused(f"swap {rid} is over ({done[-1]})", "这次换班已经结束")
            if step == "consent" and (login != body["taker"] or "consent" in done):
                raise SwapRefused(
                    f"only {body['taker']} consents to swap {rid}, once",
                    "只有被请代班的人能同意，而且只能同意一次",
                )
            if step == "approve" and (not is_admin or "consent" not in done):
                raise SwapRefused(
                    f"an admin approves swap {rid} after {body['taker']} consents",
                    "要等对方同意后，由管理员批准",
                )
            if step == "refuse" and not (is_admin or login in (body["giver"], body["taker"])):
                raise SwapRefused(
                    f"only the two people or an admin refuse swap {rid}",
                    "只有换班的两个人或管理员能拒绝",
                )

        made: list[RosterEntry] = []

        def roster_change(_earlier: list[Record]) -> tuple[str, dict[str, Any]] | None:
            if step != "approve":
                return None
            made.append(self._after(body))  # decided in the approval's transaction
            return ("roster", made[0].model_dump(mode="json"))

        with self.roster.writing():
            saved = self.books.follow_up(
                STEPS,
                record,
                now_ms(self.clock),
                by,
                {"step": step, "login": login},
                check=allowed,
                also=roster_change,
            )
            self.roster.remember(made)
        return saved

    def view(self, record: Record) -> dict[str, Any]:
        """A swap with its steps and where it stands."""
        steps = self.books.about(STEPS, record.id)
        done = [s.body["step"] for s in steps]
        state = (
            "approved"
            if "approve" in done
            else "refused"
            if "refuse" in done
            else ("consented" if "consent" in done else "asked")
        )
        return {**record.as_json(), "state": state, "steps": [s.as_json() for s in steps]}

    def _people(self, day: date, shift: str) -> list[str]:
        entry = next((e for e in self.roster.entries(day, day) if e.shift == shift), None)
        if entry is None:
            raise SwapRefused(f"no shift {shift!r}", "排班表上没有这个班次")
        return entry.people

    def _after(self, body: dict[str, Any]) -> RosterEntry:
        """The roster entry once the swap is made (checked as any roster change)."""
        day = date.fromisoformat(body["date"])
        shift = body["shift"]
        now_on = self._people(day, shift)
        if body["giver"] not in now_on:  # the roster changed since the request
            raise SwapRefused(
                f"{body['giver']} is no longer on the {shift} shift of {day}",
                "排班已经改了：申请人不在这个班次上了",
            )
        people = [body["taker"] if p == body["giver"] else p for p in now_on]
        entry = RosterEntry(date=day, shift=shift, people=people)
        self.roster.check([entry])
        return entry
