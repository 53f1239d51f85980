"""The duty books of one site, wired: the record file, the roster and on-duty routing."""

from __future__ import annotations

from collections.abc import Sequence

from campuswatch.clock import Clock
from ingest.config import IngestConfig
from ingest.config.duty import DutyConfig
from ingest.duty.books import DutyBooks
from ingest.duty.roster import Roster
from ingest.duty.routing import OnDutyRouter, Routed
from ingest.people.store import PeopleStore


class DutyService:
    """What ``duty`` in the config turns on (an empty ``duty`` keeps the books usable)."""

    def __init__(self, config: IngestConfig, people: PeopleStore, clock: Clock) -> None:
        self.config = config.duty or DutyConfig()
        self.people = people
        self.books = DutyBooks(config.state_dir / "duty.db")
        self.roster = Roster(self.books, self.config, config.site.timezone, clock, self._names)
        self.router = OnDutyRouter(self.config, config.channels, self.roster.now, people.contacts)

    def open(self) -> None:
        """Open the books and read the roster."""
        self.books.open()
        self.roster.load()

    def close(self) -> None:
        """Close the books."""
        self.books.close()

    def route(self, channels: Sequence[str]) -> Routed:
        """``channels`` with ``on_duty`` turned into the people on duty now."""
        return self.router.route(channels)

    def _names(self) -> dict[str, str]:
        """Who may be on duty: everyone who may log in, by login."""
        return {p.login: p.name for p in self.people.people() if not p.disabled}
