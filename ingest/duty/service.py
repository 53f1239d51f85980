"""The duty books of one site, wired: the record file, the roster and on-duty routing, the
food samples and the visitors."""

from __future__ import annotations

from collections.abc import Sequence

from campuswatch.clock import Clock
from ingest.config import IngestConfig
from ingest.config.duty import DutyConfig
from ingest.duty.books import DutyBooks
from ingest.duty.roster import Roster
from ingest.duty.routing import OnDutyRouter, Routed
from ingest.duty.samples import FoodSamples
from ingest.duty.visitors import Visitors
from ingest.people.store import PeopleStore
from ingest.registry import Registry
from ingest.storage.influx import InfluxClient
from ingest.storage.snapshots import SnapshotStore


class DutyService:
    """What ``duty`` in the config turns on (an empty ``duty`` keeps the books usable)."""

    def __init__(
        self,
        config: IngestConfig,
        people: PeopleStore,
        registry: Registry,
        influx: InfluxClient,
        snapshots: SnapshotStore,
        clock: Clock,
    ) -> None:
        self.config = config.duty or DutyConfig()
        self.people = people
        self.books = DutyBooks(config.state_dir / "duty.db")
        limits = config.reports.class_limits()
        self.samples = FoodSamples(self.books, self.config, registry, influx, limits, clock)
        folder = config.state_dir / "duty" / "visitors"
        self.visitors = Visitors(self.books, self.config, snapshots, folder, clock)
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
