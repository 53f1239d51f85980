"""The duty books of one site, wired: the record file, the roster and on-duty routing, the
food samples and the visitors."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from campuswatch.clock import Clock, now_ms
from campuswatch.worker import Worker
from ingest.config import IngestConfig
from ingest.config.duty import DutyConfig
from ingest.config.rules import SampleExcursionRuleConfig
from ingest.duty.books import DutyBooks
from ingest.duty.handover import Handovers
from ingest.duty.photos import RepairPhotos
from ingest.duty.reminders import Reminders
from ingest.duty.roster import Roster
from ingest.duty.rounds import Report, Rounds
from ingest.duty.routing import OnDutyRouter, Routed
from ingest.duty.samples import ExcursionReport, FoodSamples
from ingest.duty.sightings import PlaceSightings
from ingest.duty.swaps import Swaps
from ingest.duty.visitors import Visitors
from ingest.duty.workorders import WorkOrders
from ingest.health import Problems
from ingest.links import LinkSigner
from ingest.outbox import Outbox
from ingest.people.store import PeopleStore
from ingest.registry import Registry
from ingest.reports.lock_check import LockCheck
from ingest.rules.model import Alert
from ingest.rules.store import AlertStore
from ingest.storage.influx import InfluxClient
from ingest.storage.snapshots import SnapshotStore

log = logging.getLogger(__name__)
TICK_S = 30.0
HOURLY_MS = 3600_000
SAMPLES_EVERY_MS = 5 * 60_000


class DutyService:
    """What ``duty`` in the config turns on (an empty ``duty`` keeps the books usable)."""

    def __init__(
        self,
        config: IngestConfig,
        people: PeopleStore,
        registry: Registry,
        influx: InfluxClient,
        snapshots: SnapshotStore,
        links: LinkSigner,
        clock: Clock,
        problems: Problems,
    ) -> None:
        self.config = config.duty or DutyConfig()
        self.people = people
        self.clock = clock
        self.books = DutyBooks(config.state_dir / "duty.db")
        limits = config.reports.class_limits()
        self.samples = FoodSamples(self.books, self.config, registry, influx, limits, clock)
        folder = config.state_dir / "duty" / "visitors"
        self.visitors = Visitors(self.books, self.config, snapshots, folder, clock)
        state = config.state_dir / "duty" / "rounds.json"
        tz = config.site.timezone
        sightings = PlaceSightings(registry, influx)
        self.rounds = Rounds(
            self.books, self.config, links, tz, clock, state, sightings, self._secure
        )
        self.timezone = tz
        self.workorders = WorkOrders(self.books, self.config, self._known, self._device_name, clock)
        self.registry = registry
        self.handovers: Handovers  # see attach()
        self._timer = Worker("duty", self._tick)
        self._on_round: Report | None = None
        self._on_sample: ExcursionReport | None = None
        self._samples_ms = 0
        self._hourly_ms = 0
        self.roster = Roster(self.books, self.config, config.site.timezone, clock, self._names)
        self.router = OnDutyRouter(
            self.config, config.channels, self.roster.now, people.contacts, problems
        )
        self.swaps = Swaps(self.books, self.roster, clock)
        self.photos = RepairPhotos(config.state_dir / "duty" / "photos")
        reminded = config.state_dir / "duty" / "reminders.json"
        self.reminders = Reminders(
            self.config, self.roster, self.router.to_people, config.site.id, tz, clock, reminded
        )
        self._outbox: Outbox | None = None
        self._alerts: AlertStore | None = None
        # The rules the duty books raise sample excursions for (see samples.watch).
        self._sample_rules = {
            r.id for r in config.rules if isinstance(r, SampleExcursionRuleConfig)
        }
        self._wake: Callable[[set[str]], None] = lambda _channels: None

    def attach(
        self,
        alerts: AlertStore,
        lock_check: LockCheck | None,
        outbox: Outbox,
        wake: Callable[[set[str]], None],
    ) -> None:
        """The handover book, which reads the alerts and the lock check, and the outbox
        reminders go through (made after the books: the alert engine routes through the
        roster)."""
        self._outbox, self._wake = outbox, wake
        self._alerts = alerts
        self.handovers = Handovers(
            self.books,
            self.roster,
            self.rounds,
            self.visitors,
            self.workorders,
            alerts,
            lock_check,
            self._offline,
            self.timezone,
            self.clock,
        )

    def open(self) -> None:
        """Open the books and read the roster."""
        self.books.open()
        self.roster.load()
        self.workorders.load()

    def start(self, on_round: Report, on_sample: ExcursionReport) -> None:
        """Check the rounds' windows, the sample fridges and the visitors' keeping time
        from now on (the engine hears of missed rounds and sample excursions)."""
        self._on_round, self._on_sample = on_round, on_sample
        self._timer.start()

    def stop(self) -> None:
        """Stop checking."""
        self._timer.stop()

    def close(self) -> None:
        """Close the books."""
        self.books.close()

    def _tick(self) -> float:
        """Every 30 s: windows that closed, tomorrow's reminders; every 5 minutes: sample
        fridges; every hour: visitors past their keeping time and devices silent a day.
        Each on its own: one that fails (logged) does not keep the others from running."""
        if self._on_round is not None:
            _attempt("round windows", self.rounds.check_closed, self._on_round)
        if self._outbox is not None and self.config.shifts:
            _attempt("reminders", self.reminders.due, self._outbox, self._wake)
        now = now_ms(self.clock)
        if self._on_sample is not None and now - self._samples_ms >= SAMPLES_EVERY_MS:
            self._samples_ms = now
            _attempt("sample fridges", self.samples.watch, self._on_sample, self._sample_alerts)
        if now - self._hourly_ms >= HOURLY_MS:
            self._hourly_ms = now
            _attempt("visitor retention", self._forget_visitors)
            _attempt("silent devices", self._silent_devices)
        return TICK_S

    def _forget_visitors(self) -> None:
        gone = self.visitors.forget_old()
        if gone:
            log.info("duty: %d visitor record(s) past duty.visitor_keep deleted", gone)

    def _silent_devices(self) -> None:
        statuses = self.registry.gateway_status()
        for dev in self.registry.devices():
            if statuses.get((dev.site, dev.gateway)) == "online":  # else its own alert
                self.workorders.silent((dev.site, dev.gateway, dev.device), dev.last_seen_ms)

    def _offline(self) -> list[dict[str, Any]]:
        """Devices not heard from lately (their gateway online or not)."""
        return [
            {
                "device": r["device"],
                "name": r["name"],
                "gateway": r["gateway"],
                "last_seen": r["last_seen_ms"],
            }
            for r in self.registry.device_rows()
            if not r["online"]
        ]

    def _sample_alerts(self) -> set[str]:
        """The fridges whose sample_excursion alert is active."""
        if self._alerts is None or not self._sample_rules:
            return set()
        return {a.device for a in self._alerts.active_alerts() if a.rule in self._sample_rules}

    def _secure(self, device: str, since_ms: int) -> bool:
        """Whether the door ``device`` said, in a reading since ``since_ms``, that it is
        closed and locked (as far as it reports: a lock without a contact says locked, a
        contact without a lock closed)."""
        for dev in self.registry.devices():
            if dev.device == device and dev.kind == "door":
                values, seen = dev.values, dev.last_seen_ms
                if seen is None or seen < since_ms or not {"open", "locked"} & set(values):
                    return False
                return values.get("open") is not True and values.get("locked") is not False
        return False

    def _known(self, device: str) -> list[tuple[str, str, str]]:
        return [
            (d.site, d.gateway, d.device) for d in self.registry.devices() if d.device == device
        ]

    def _device_name(self, key: tuple[str, str, str]) -> str:
        info = self.registry.device_info(*key)
        return info.name if info and info.name else key[2]

    def route(self, channels: Sequence[str], alert: Alert) -> Routed:
        """``channels`` with ``on_duty`` turned into the people on duty now; nobody for
        a device muted by its work order (the alert is still recorded and shown)."""
        try:
            until = self.workorders.muted((alert.site, alert.gateway, alert.device))
        except Exception:  # a mute that cannot be read mutes nothing
            log.exception("alert %d: its device's repair mute could not be read", alert.id)
            until = None
        if until is not None:
            log.info("alert %d: %s is muted for repair: not notified", alert.id, alert.device)
            return []
        return self.router.route(channels)

    def _names(self) -> dict[str, str]:
        """Who may be on duty: everyone who may log in, by login."""
        return {p.login: p.name for p in self.people.people() if not p.disabled}


def _attempt(what: str, task: Callable[..., object], *args: object) -> None:
    """Run one duty task; a failure is logged and tried again at the next tick."""
    try:
        task(*args)
    except Exception:
        log.exception("duty timer: %s failed; trying again at the next tick", what)
