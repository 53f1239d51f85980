"""The rules engine: live readings, gateway status and acknowledgements in, alert
transitions out.

Driven by the MQTT stream (``on_readings`` and ``on_status`` on the consumer's network
thread, before storage: an InfluxDB outage never delays an alert), by people
(``acknowledge``) and by ``tick`` (about twice a second: hold times, schedules, silence,
repeat, escalation). Each input is decided on the :class:`AlertBook` into one
:class:`Batch`, which the :class:`Recorder` applies in one transaction. Rule time never
runs ahead of the service's clock (``skew.py``).

Order and backlogs: each device's values merge in reading-``ts`` order, so redeliveries
and late envelopes never move an alert backwards; an older reading showing a critical
condition no alert covered is told ``late`` (``late.py``). A reading more than
``STALE_MS`` old is backlog (a gateway draining its buffer): an alert it starts waits
until ``SETTLE_MS`` after the device's last backlog reading. A condition that began and
ended meanwhile is dropped and counted (a door opened and closed), told ``late`` when
critical; one still true then fires, ``started_at`` when it really began. An alarm the
gateway told on its own while cut off is told ``edge`` (``edge.py``, SPEC §12).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from campuswatch.clock import Clock, now_ms
from campuswatch.protocol import DeviceRef, EdgeTold, Status
from campuswatch.protocol.readings import Reading
from campuswatch.signal import Signal
from ingest.config.schema import IngestConfig
from ingest.health import Problems
from ingest.metrics import Metrics
from ingest.outbox import Outbox
from ingest.registry import Registry
from ingest.rules.acknowledge import Acknowledgements
from ingest.rules.alert_text import clock_time, say
from ingest.rules.alerts import AlertBook
from ingest.rules.devices import DeviceBook
from ingest.rules.duty_events import DutyEvents
from ingest.rules.edge import EdgeRecords
from ingest.rules.errors import clean_note
from ingest.rules.late import LateReadings
from ingest.rules.lifecycle import Lifecycle
from ingest.rules.model import Alert
from ingest.rules.quiet import QuietChecks
from ingest.rules.recorder import Decorate, Recorder, Route, Unrecorded
from ingest.rules.schedules import ScheduleBook
from ingest.rules.skew import ClockSkew
from ingest.rules.state import (
    CompiledRule,
    GatewayBook,
    RuleSets,
    Track,
    WatchedDevice,
    as_number,
    compile_rule,
    to_ms,
)
from ingest.rules.store import AlertStore, ConditionState
from ingest.rules.transitions import Batch

log = logging.getLogger(__name__)

STALE_MS = 120_000
SETTLE_MS = 15_000


class RuleEngine:
    """Evaluates the configured rules; thread-safe."""

    def __init__(
        self,
        config: IngestConfig,
        registry: Registry,
        store: AlertStore,
        outbox: Outbox,
        metrics: Metrics,
        clock: Clock,
        wake: Callable[[set[str]], None] = lambda _channels: None,
        problems: Problems | None = None,
        *,
        unrecorded: Unrecorded | None = None,
        decorate: Decorate | None = None,
        route: Route | None = None,
    ) -> None:
        """``wake``, ``unrecorded``, ``decorate`` and ``route``: see :class:`Recorder`."""
        self.config = config
        self.registry = registry
        self.store = store
        self.metrics = metrics
        self.clock = clock
        self.problems = problems or Problems()
        self.schedules = ScheduleBook(config.schedules, config.calendar, config.site.timezone)
        # Emitted after a commit that changed an alert (the live board listens).
        self.alerts_changed: Signal[[]] = Signal("alerts changed")
        self._rules = {r.id: compile_rule(r) for r in config.rules}
        self.book = AlertBook(self._rules)
        self.lifecycle = Lifecycle(self.book, store, metrics, config.site.language)
        self.recorder = Recorder(
            config,
            store,
            outbox,
            self.problems,
            wake=wake,
            changed=self.alerts_changed,
            unrecorded=unrecorded,
            decorate=decorate,
            route=route,
        )
        self.skew = ClockSkew(self.problems, metrics)
        self.late = LateReadings(self.book, store, self.lifecycle, metrics, self._active)
        self.acks = Acknowledgements(self.book, store, self.lifecycle, self._rules)
        self.edge = EdgeRecords(self.book, store)
        self._lock = threading.RLock()
        rules = RuleSets.of(self._rules.values())
        self.duty_events = DutyEvents(self.book, self.lifecycle, rules.duty, config.site.id)
        self.devices = DeviceBook(registry, rules.condition, rules.silent)
        self.gateways = GatewayBook()
        self.quiet = QuietChecks(
            self.book, self.lifecycle, self.devices, self.gateways, rules.gateway, self._active
        )
        # When each rule's active period began (None: not active now; absent: not known
        # yet, so the first refresh decides).
        self._active_since: dict[str, float | None] = {}

    # ------------------------------------------------------------------ start-up

    def load(self) -> None:
        """Recover alerts, conditions, devices and gateways after a (re)start."""
        with self._lock:
            now = self.quiet.started_ms = now_ms(self.clock)
            orphans = self.book.load(self.store)
            self.devices.restore(now)
            for (site, gateway), status in self.registry.gateway_status().items():
                self.gateways.restore(site, gateway, status, now)
            self.edge.prune(now)
            self._run(lambda batch: self._resolve_orphans(batch, orphans, now))
            self._run(lambda batch: self._refresh_schedules(batch, now))
            log.info(
                "rules engine: %d rule(s), %d active alert(s)",
                len(self._rules),
                len(self.book.alerts),
            )

    def _resolve_orphans(self, batch: Batch, alerts: list[Alert], now: int) -> None:
        for alert in alerts:  # their rule was removed from the config
            self.lifecycle.resolve(batch, alert, None, now, self._words("reason.rule_removed"))

    # ------------------------------------------------------------------ inputs

    def on_readings(self, site: str, gateway: str, readings: list[Reading]) -> None:
        """Evaluate one envelope's accepted readings (a ReadingListener)."""
        with self._lock:
            now = now_ms(self.clock)
            self.gateways.heard(site, gateway, now)
            self._run(lambda batch: self._readings(batch, site, gateway, readings, now))

    def on_status(self, site: str, gateway: str, status: Status) -> None:
        """A gateway's status message (online, or offline from its last will, or stopped)."""
        with self._lock:
            now = now_ms(self.clock)
            gw = self.gateways.heard(site, gateway, now)
            gw.status, gw.status_ms = status.state, now
            self._run(lambda batch: self.quiet.check_gateways(batch, now, (site, gateway)))

    def on_edge(self, site: str, gateway: str, told: EdgeTold) -> None:
        """A gateway told an alarm on its own while cut off (SPEC §12; see edge.py)."""
        with self._lock:
            now = now_ms(self.clock)
            self.edge.prune(now)
            self._run(lambda batch: self.edge.record(batch, site, gateway, told, now))

    def on_meta(self, site: str, gateway: str, removed: set[str], gone: bool = False) -> None:
        """A gateway's device list changed (a MetaListener): end the alerts of devices it
        no longer has, of devices whose tags no longer match the alert's rule, and when
        the gateway itself is ``gone`` (taken out of service), its own."""
        with self._lock:
            now = now_ms(self.clock)
            self._run(lambda batch: self._rematch(batch, site, gateway, removed, gone, now))

    def on_round(self, round_id: str, name: str, missed: list[str]) -> None:
        """A window of a duty round closed (see DutyEvents)."""
        with self._lock:
            now = now_ms(self.clock)
            self._run(lambda batch: self.duty_events.report(batch, round_id, name, missed, now))

    def on_sample(self, fridge: tuple[str, str, str], name: str, out: bool) -> None:
        """A sample fridge's kept samples were out of range, or it is back (DutyEvents)."""
        with self._lock:
            now = now_ms(self.clock)
            self._run(lambda batch: self.duty_events.sample(batch, fridge, name, out, now))

    def acknowledge(
        self, alert_id: int, by: str, note: str, link_nonce: str | None = None
    ) -> Alert:
        """Acknowledge a firing alert on behalf of ``by``; ``link_nonce`` names the ack
        link used, which then works no more (recorded in the same transaction)."""
        note = clean_note(note)
        with self._lock:
            alert = self.acks.ackable(alert_id, link_nonce)
            now = now_ms(self.clock)
            self._run(lambda batch: self.acks.decide(batch, alert, by, note, link_nonce, now))
            return alert

    # ------------------------------------------------------------------ readings

    def _readings(
        self, batch: Batch, site: str, gateway: str, readings: list[Reading], now: int
    ) -> None:
        newest = 0
        for reading in readings:
            dev = self.devices.get(site, gateway, reading.device, reading.kind)
            dev.heard_ms = now  # even a late reading shows the device is alive
            ts = reading.ts
            if ts > now:  # rule time never runs ahead of ours (skew.py)
                newest, ts = max(newest, ts), now
            if dev.last_ts is not None and ts < dev.last_ts:
                self.metrics.late_readings.inc()
                self.late.check(batch, dev, reading, ts, now)
                continue
            dev.last_ts = ts
            dev.values.update(reading.values)
            for rule in dev.silent_rules:
                alert = self.book.alerts.get((rule.id, site, gateway, dev.device))
                if alert is not None:
                    self.lifecycle.end(batch, alert, rule.config, now)
            backlog = now - ts > STALE_MS
            for rule in dev.condition_rules:
                self._evaluate(batch, rule, dev, ts, now, backlog)
        self.skew.check(site, gateway, readings, newest, now)
        self.quiet.heard_from(batch, now, site, gateway)

    def _evaluate(
        self,
        batch: Batch,
        rule: CompiledRule,
        dev: WatchedDevice,
        ts: int,
        now: int,
        backlog: bool,
    ) -> None:
        key = (rule.id, dev.site, dev.gateway, dev.device)
        assert rule.predicate is not None
        holds = rule.predicate(dev.values)
        track = self.book.tracks.get(key)
        settling = backlog or (track is not None and now < track.settle_until_ms)
        if track is None or track.holds != holds:
            track = self.book.changed(key, holds, ts)
            batch.conditions[key] = ConditionState(holds, ts)
        if backlog:
            track.settle_until_ms = now + SETTLE_MS
        alert = self.book.alerts.get(key)
        if holds:
            if alert is not None:
                alert.value = as_number(dev.values.get(alert.field or ""))
            self._hold(batch, rule, dev, track, now)
        elif alert is not None:
            self._cleared(batch, rule, alert, ts, now, settling)

    def _cleared(
        self, batch: Batch, rule: CompiledRule, alert: Alert, ts: int, now: int, settling: bool
    ) -> None:
        """The condition of ``alert`` is over as of reading ``ts``. One held back by a
        backlog (this reading's, or one still settling) is dropped and counted, unless
        critical and held for the rule's ``for``: then told late, never dropped."""
        if alert.state == "pending" and settling:
            if rule.config.severity == "critical" and ts - alert.since_ms >= rule.hold_ms:
                self.lifecycle.late(batch, alert, rule.config, ts, now)
                self.book.remove(alert)
                return
            self.metrics.stale_suppressed.inc()
        if not (alert.state == "firing" and rule.latch):
            self.lifecycle.end(batch, alert, rule.config, now)  # latched: waits for an ack

    def _hold(
        self, batch: Batch, rule: CompiledRule, dev: WatchedDevice, track: Track, now: int
    ) -> None:
        """The condition holds: open an alert if the rule is active, fire it when due."""
        active_since = self._active_since.get(rule.id)
        if active_since is None:
            return
        alert = self.book.alerts.get((rule.id, dev.site, dev.gateway, dev.device))
        if alert is None:
            since = max(track.since_ms, int(max(active_since, 0) * 1000))
            alert = self.lifecycle.open(batch, rule.config, dev, since, now)
            self.book.add(alert)
        if alert.state == "pending" and self._due(rule, alert, track, now):
            self.lifecycle.fire(batch, alert, rule.config, now)

    @staticmethod
    def _due(rule: CompiledRule, alert: Alert, track: Track, now: int) -> bool:
        if now < track.settle_until_ms:
            return False
        return rule.hold_ms == 0 or now >= alert.since_ms + rule.hold_ms

    def _rematch(
        self, batch: Batch, site: str, gateway: str, removed: set[str], gone: bool, now: int
    ) -> None:
        if gone:
            self.gateways.forget(site, gateway)
        for key, alert in list(self.book.alerts.items()):
            rule = self._rules[alert.rule]
            if key[1:3] != (site, gateway):
                continue
            if rule in self.quiet.gateway_rules:
                if gone:
                    self._end_because(batch, alert, rule, now, "reason.gateway_removed")
            elif alert.device in removed:
                self._end_because(batch, alert, rule, now, "reason.device_removed")
            elif rule in self.duty_events.rules:
                continue  # the duty books decide these (a meta republish changes nothing)
            elif not self.devices.watches(self.devices.get(*key[1:], alert.kind), rule):
                self._end_because(batch, alert, rule, now, "reason.no_longer_matches")
        for device in removed:
            self.devices.forget(DeviceRef(site, gateway, device))
        self.book.forget(site, gateway, removed)

    def _end_because(
        self, batch: Batch, alert: Alert, rule: CompiledRule, now: int, reason: str
    ) -> None:
        self.lifecycle.end(batch, alert, rule.config, now, self._words(reason))

    def _words(self, key: str, **values: object) -> str:
        return say(key, self.config.site.language, **values)

    def _active(self, rule_id: str) -> bool:
        """Whether the rule is in its active hours now."""
        return self._active_since.get(rule_id) is not None

    # ------------------------------------------------------------------ time

    def tick(self) -> None:
        """Advance timers: schedule boundaries, hold times, silence, repeat, escalation."""
        with self._lock:
            now = now_ms(self.clock)
            self._run(lambda batch: self._tick(batch, now))
            self.metrics.alerts_active.set(len(self.book.alerts))

    def _tick(self, batch: Batch, now: int) -> None:
        self._refresh_schedules(batch, now)
        for key, alert in list(self.book.alerts.items()):
            rule = self._rules[alert.rule]
            track = self.book.tracks.get(key)
            if alert.state == "pending" and track is not None and track.holds:
                if self._due(rule, alert, track, now):
                    self.lifecycle.fire(batch, alert, rule.config, now)
            elif alert.state == "firing":
                self._remind(batch, alert, rule, now)
        self.quiet.check_devices(batch, now)
        self.quiet.check_gateways(batch, now)

    def _remind(self, batch: Batch, alert: Alert, rule: CompiledRule, now: int) -> None:
        config = rule.config
        if alert.last_notified_ms is None:
            return  # fired untold (once_per): no reminders either
        started = alert.started_ms or alert.since_ms
        if (
            config.escalate
            and not alert.escalated
            and now >= started + to_ms(config.escalate.after)
        ):
            self.lifecycle.escalate(batch, alert, config, now)
        if config.repeat and now >= (alert.last_notified_ms or started) + to_ms(config.repeat):
            self.lifecycle.repeat(batch, alert, config, now)

    def _refresh_schedules(self, batch: Batch, now: int) -> None:
        by_active: dict[object, float | None] = {}  # many rules share a schedule
        for rule in self._rules.values():
            active = rule.config.active
            if active not in by_active:
                by_active[active] = self.schedules.active_since(active, now / 1000)
            since = by_active[active]
            if rule.id in self._active_since and since == self._active_since[rule.id]:
                continue
            self._active_since[rule.id] = since
            if since is None:
                still = self._words("still_at", time=clock_time(now, self.schedules.tz.key)[-8:-3])
                for alert in [a for a in self.book.alerts.values() if a.rule == rule.id]:
                    self.lifecycle.end(batch, alert, rule.config, now, still, "schedule_end")
            elif rule.predicate is not None:
                for key, track in list(self.book.tracks.items()):
                    if key[0] != rule.id or not track.holds:
                        continue
                    dev = self.devices.find(key[1:])
                    if dev is not None and rule in dev.condition_rules:
                        self._hold(batch, rule, dev, track, now)

    # ------------------------------------------------------------------ transactions

    def _run(self, decide: Callable[[Batch], None]) -> None:
        """Decide one input's transitions (under the engine lock) and record them in one
        transaction; on an error, take the store's word for the alerts and re-raise."""
        batch = Batch()
        try:
            decide(batch)
            self.recorder.apply(batch)
        except BaseException:
            self.book.reload(self.store)
            raise
