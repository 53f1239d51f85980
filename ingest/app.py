"""Wiring of the central service: registry, spool, consumer, writer and their lifecycle."""

from __future__ import annotations

import logging
from datetime import datetime
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from campuswatch.clock import Clock, SystemClock, now_ms
from ingest.config import IngestConfig
from ingest.config.places import Places
from ingest.duty.service import DutyService
from ingest.health import Problems
from ingest.links import AckLinks, LinkSigner
from ingest.metrics import Metrics
from ingest.notify.digest import Digest
from ingest.notify.dispatcher import Dispatcher
from ingest.notify.factory import make_senders
from ingest.outbox import Outbox
from ingest.people.addresses import AddressLimiter
from ingest.people.csrf import Csrf
from ingest.people.store import PeopleStore
from ingest.pipeline.consumer import MqttConsumer
from ingest.pipeline.deadletters import DeadLetterStore
from ingest.pipeline.handler import MessageHandler
from ingest.pipeline.overflow import SpoolIntake
from ingest.pipeline.spool import Spool
from ingest.pipeline.subscriptions import Subscriptions
from ingest.pipeline.writer import InfluxWriter
from ingest.registry import Registry
from ingest.reports.jobs import ReportJobs
from ingest.reports.lock_check import LockCheck
from ingest.reports.service import Reports
from ingest.rules.engine import RuleEngine
from ingest.rules.links import NotificationLinks
from ingest.rules.service import AlertService
from ingest.rules.store import AlertStore
from ingest.rules.timer import EventExporter, RulesTimer
from ingest.storage.backfill import BackfillMarks
from ingest.storage.dirty import DirtyHours
from ingest.storage.influx import InfluxClient
from ingest.storage.rollups import RollupJob, derived_keys
from ingest.storage.snapshots import SnapshotStore
from ingest.watchdog import Watchdog

log = logging.getLogger(__name__)


class IngestService:
    """The MQTT → spool → InfluxDB pipeline and the state the API reads."""

    def __init__(self, config: IngestConfig, clock: Clock | None = None) -> None:
        self.config = config
        self.clock = clock or SystemClock()
        self.metrics = Metrics()
        self.problems = Problems()
        self.places = Places(config.places)  # the names people read (SPEC §4)
        self.people = PeopleStore(config.state_dir / "people.db", config.console, self.clock)
        self.links = LinkSigner(config, self.clock, self.problems)
        self._build_pipeline(config)
        # The duty books; their roster routes ``on_duty`` notifications (SPEC §11).
        self.duty = DutyService(
            config,
            self.people,
            self.registry,
            self.influx,
            self.snapshots,
            self.links,
            self.clock,
            self.problems,
        )
        self._build_alerts(config)
        self._build_people_and_reports(config)
        self._build_watchdog(config)

    def _build_pipeline(self, config: IngestConfig) -> None:
        """MQTT → handler → spool → InfluxDB, and the stores beside it."""
        state_dir = config.state_dir
        reserve = config.spool.reserve_mb << 20
        self.registry = Registry(
            state_dir / "registry.json", self.clock, config.limits.devices_per_gateway
        )
        self.dead_letters = DeadLetterStore(
            state_dir / "deadletters",
            config.dead_letters.max_mb << 20,
            config.dead_letters.keep_days,
            reserve,
        )
        self.spool = Spool(
            state_dir / "spool",
            segment_bytes=config.spool.segment_mb << 20,
            max_bytes=config.spool.max_mb << 20,
            reserve_bytes=reserve,
        )
        influx = config.influx
        self.influx = InfluxClient.configured(influx)
        self.snapshots = SnapshotStore(
            state_dir / "snapshots",
            config.snapshots.keep_days,
            config.snapshots.max_mb << 20,
            self.clock,
        )
        self.handler = MessageHandler(
            config.mqtt.topic_root,
            config.site.serves,
            self.registry,
            self.metrics,
            self.clock,
            self.snapshots,
            config.limits.meta_kb << 10,
            influx.keep_days,
        )
        self.dirty = DirtyHours(state_dir / "dirty-hours.json", derived_keys())
        self.writer = InfluxWriter(
            self.influx,
            self.spool,
            self.dead_letters,
            self.metrics,
            batch_bytes=influx.batch_kb << 10,
            dirty=self.dirty,
        )
        self.intake = SpoolIntake(
            self.spool, self.metrics, self.problems, config.spool.memory_mb << 20
        )
        self.consumer = MqttConsumer(
            config.mqtt,
            self.handler,
            self.intake,
            self.dead_letters,
            self.registry,
            self.metrics,
            self.problems,
            Subscriptions(
                config.mqtt.topic_root,
                [config.site.id, *config.site.also_serves],
                state_dir / "subscriptions.json",
            ),
        )

    def _build_alerts(self, config: IngestConfig) -> None:
        """Signed links, the channels that tell people, and the rules engine that fills
        their queue; the engine listens to the handler's readings, status and meta."""
        console = config.console
        self.ack_links = AckLinks(self.links, int(console.ack_link_valid.total_seconds()))
        self.alert_store = AlertStore(config.state_dir / "alerts.db", config.site.id)
        senders = make_senders(config.channels, self.consumer, config.site.language)
        digest = Digest(config.site.language, config.site.timezone, config.api.base_url() + "/")
        self.outbox = Outbox(self.alert_store)
        self.dispatcher = Dispatcher(self.outbox, senders, self.metrics, self.clock, digest)
        links = NotificationLinks(
            self.registry,
            self.snapshots,
            self.links,
            self.ack_links,
            config.site.language,
            self.clock,
            self.problems,
            int(config.snapshots.link_valid.total_seconds()),
        )
        self.engine = RuleEngine(
            config,
            self.registry,
            self.alert_store,
            self.outbox,
            self.metrics,
            self.clock,
            self.dispatcher.wake,
            self.problems,
            unrecorded=self.dispatcher.send_from_memory,
            decorate=links,
            route=self.duty.route,
        )
        self.alerts = AlertService(self.alert_store, self.engine)
        self.rules_timer = RulesTimer(
            self.engine,
            EventExporter(self.alert_store, self.spool.append, config.site, self.places),
        )
        self.handler.accepted.connect(self.engine.on_readings)
        self.handler.accepted.connect(self.duty.workorders.on_readings)
        self.handler.status_changed.connect(self.engine.on_status)
        self.handler.meta_changed.connect(self.engine.on_meta)
        self.handler.edge_told.connect(self.engine.on_edge)

    def _build_people_and_reports(self, config: IngestConfig) -> None:
        """People and their sessions, reports and their schedule."""
        self.rollups = RollupJob(
            self.influx,
            self.clock,
            config.site.timezone,
            self.dirty,
            config.influx.keep_days,
            self.problems,
            BackfillMarks(config.state_dir / "backfill.json"),
        )
        self.reports = Reports(
            config,
            self.influx,
            self.registry,
            self.alert_store,
            self.rollups.meter_hours,
            self.clock,
            self.links,
            self.places,
            self.dirty,
        )
        self.lock_check = (
            LockCheck(
                self.registry,
                config.lock_check,
                self.clock,
                config.site.language,
                config.state_dir / "lock-check.json",
                self.places,
            )
            if config.lock_check
            else None
        )
        self.duty.attach(self.alert_store, self.lock_check, self.outbox, self.dispatcher.wake)
        self.report_jobs = ReportJobs(
            config,
            self.reports,
            self.outbox,
            self.dispatcher.wake,
            self.clock,
            self.lock_check,
            self.problems,
        )
        console = config.console
        self.login_addresses = AddressLimiter(self.clock, console.logins_per_address)
        self.csrf = Csrf(self.links, int(console.session_idle.total_seconds()))

    def _build_watchdog(self, config: IngestConfig) -> None:
        """Every stage that can stall, with the age of its oldest work and its limit."""
        limits = config.watchdog
        self.watchdog = Watchdog(self.problems, self.metrics)
        self._outbox_ages: dict[str, float] = {}
        for key, words, age, limit in (
            (
                "consumer",
                "receiving (messages not yet made durable)",
                self.consumer.pending_age_s,
                limits.consumer,
            ),
            (
                "writer",
                "storage (readings in the spool, not yet in InfluxDB)",
                self.writer.pending_age_s,
                limits.writer,
            ),
            (
                "held",
                "readings held in memory (the spool refuses them)",
                self.intake.held_age_s,
                limits.held,
            ),
            (
                "derived",
                "rollups and meter buckets (changed hours not yet recomputed)",
                self.dirty.waiting_age_s,
                limits.derived,
            ),
            ("rules", "the rules engine (its clock tick)", self.rules_timer.age_s, limits.rules),
            ("rollups", "the rollup job", self.rollups.age_s, limits.rollups),
        ):
            self.watchdog.watch(key, words, age, limit.total_seconds())
        for channel in config.channels:
            self.watchdog.watch(
                f"channel {channel}",
                f"notifications to {channel} (not yet delivered)",
                partial(self._outbox_age_s, channel),
                limits.channels.total_seconds(),
            )

    def _outbox_age_s(self, channel: str) -> float:
        try:
            oldest = self.outbox.oldest_waiting_ms(channel, wait_s=0.2)
        except TimeoutError:  # the alert database is busy (a storm): the last age read
            return self._outbox_ages.get(channel, 0.0)
        age = 0.0 if oldest is None else (now_ms(self.clock) - oldest) / 1000
        self._outbox_ages[channel] = age
        return age

    def start(self) -> None:
        """Recover local state, then start draining and consuming."""
        self.config.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.config.state_dir.chmod(0o700)
        self.links.open()
        self.people.open()
        self.duty.open()
        self.registry.load()
        self.snapshots.open()
        self.spool.open()
        self.alert_store.open()
        self.engine.load()
        self.duty.start(self.engine.on_round, self.engine.on_sample)
        self.dispatcher.start()
        self.rules_timer.start()
        self.writer.start()
        self.rollups.start()
        self.report_jobs.start()
        self.consumer.start()
        self.watchdog.start()
        log.info(
            "ingest for site %s started (state in %s)", self.config.site.id, self.config.state_dir
        )
        self._log_calendar()

    def _log_calendar(self) -> None:
        """Say which years the official holiday data covers (update it each December)."""
        official = self.engine.schedules.official
        if official is None:
            return
        log.info("calendar.official cn: the installed holiday data covers %s", official.covered())
        this_year = datetime.fromtimestamp(self.clock.time(), self.engine.schedules.tz).year
        for year in (this_year, this_year + 1):
            if year not in official.years:
                log.warning(
                    "calendar.official cn has no data for %d: its weekdays apply"
                    " (update the chinesecalendar package)",
                    year,
                )

    def wait_ready(self, timeout: float = 10.0) -> bool:
        """Block until the MQTT subscription is in place; False after ``timeout`` seconds."""
        return self.consumer.wait_subscribed(timeout)

    def stop(self) -> None:
        """Acknowledge what is durable, stop writing, save state."""
        self.watchdog.stop()
        self.consumer.stop()
        self.report_jobs.stop()
        self.duty.stop()
        self.rules_timer.stop()  # exports the last alert events into the spool
        self.dispatcher.stop()
        self.alert_store.close()
        self.writer.stop()
        self.rollups.stop()
        self.registry.save()
        self.spool.close()
        self.snapshots.close()
        self.dead_letters.close()
        self.duty.close()
        self.people.close()
        self.influx.close()
        log.info("ingest stopped")

    def site_now(self) -> datetime:
        """Now in the site's time zone, by the service's clock."""
        return datetime.fromtimestamp(self.clock.time(), ZoneInfo(self.config.site.timezone))

    def health(self) -> dict[str, Any]:
        """The ``/api/health`` document."""
        mqtt_ok = self.consumer.connected
        influx_ok = self.writer.healthy
        stages = self.watchdog.check()
        problems = self.problems.current()
        return {
            "status": "ok" if mqtt_ok and influx_ok and not problems else "degraded",
            "mqtt": mqtt_ok,
            "influx": influx_ok,
            "problems": problems,
            "spool_bytes": self.spool.pending_bytes(),
            # Hours of derived series (rollups, meter buckets) that changed and wait.
            "derived_hours_waiting": self.dirty.waiting(),
            # Seconds the oldest work of each stage has waited (see ingest/watchdog.py).
            "stages": stages,
            "refused": self.metrics.refused(),
        }
