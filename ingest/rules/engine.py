"""The rules engine: live readings and gateway status in, alert transitions out.

Driven by the MQTT stream (``on_readings`` / ``on_status`` run on the consumer's network
thread, before storage, so an InfluxDB outage never delays an alert) and by ``tick``,
called about twice a second, for hold times, schedule boundaries, silence, repeat and
escalation. All state changes go through one store transaction per call.

Rule time never runs ahead of the service's clock (``skew.py``): a gateway clock that
jumped ahead and was corrected cannot mute the alarms after it.

Ordering and backlogs: each device's values are merged in reading-``ts`` order and a
reading older than one already seen never changes a condition, so redeliveries and late
envelopes cannot move an alert backwards. But an older reading that shows a critical
condition no alert covered (an envelope delivered after a later one, as in a broker
failover) is told ``late`` (SPEC §5): a real alarm is never dropped for its order.

A reading that arrives more than ``STALE_MS`` after its ``ts`` is backlog (a gateway
draining its buffer after an outage): it updates the condition, but an alert it starts
waits until ``SETTLE_MS`` after the device's last backlog reading before firing. So a
condition that began and ended during the outage (a door opened and closed again) is
dropped without a notification and counted, while one that is still true once the
backlog has caught up fires, with ``started_at`` at the time it really began.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from campuswatch.clock import Clock, now_ms
from campuswatch.protocol import Reading, Status
from campuswatch.signal import Signal
from ingest.config.rules import GatewayOfflineRuleConfig, SilentRuleConfig
from ingest.config.schema import IngestConfig
from ingest.health import Problems
from ingest.metrics import Metrics
from ingest.outbox import Outbox
from ingest.registry import Registry
from ingest.rules.acknowledge import Acknowledgements
from ingest.rules.devices import DeviceBook
from ingest.rules.late import LateReadings
from ingest.rules.lifecycle import Decorate, Lifecycle, Unrecorded
from ingest.rules.model import Alert
from ingest.rules.schedules import ScheduleBook
from ingest.rules.skew import ClockSkew
from ingest.rules.state import (
    CompiledRule,
    DeviceState,
    GatewayBook,
    Track,
    as_number,
    compile_rule,
    silence_ms,
    to_ms,
)
from ingest.rules.store import AlertStore, ConditionState
from ingest.rules.wording import clock_time, say

log = logging.getLogger(__name__)

STALE_MS = 120_000
SETTLE_MS = 15_000
_UNKNOWN = object()
AlertKey = tuple[str, str, str, str]  # (rule, site, gateway, device)


class RuleEngine(Acknowledgements, LateReadings):
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
    ) -> None:
        """``wake``, ``unrecorded`` and ``decorate``: see :class:`Lifecycle`."""
        self.config = config
        self.registry = registry
        self.store = store
        self.metrics = metrics
        self.clock = clock
        self.schedules = ScheduleBook(config.schedules, config.calendar, config.site.timezone)
        # Emitted after a commit that changed an alert (the live board listens).
        self.alerts_changed: Signal[[]] = Signal("alerts changed")
        self.lifecycle = Lifecycle(
            config, store, outbox, metrics, wake, problems,
            unrecorded=unrecorded, decorate=decorate, changed=self.alerts_changed,
        )  # fmt: skip
        self.skew = ClockSkew(self.lifecycle.problems, metrics)
        self._lock = threading.RLock()
        self._rules = {r.id: compile_rule(r) for r in config.rules}
        rules = list(self._rules.values())
        self._condition_rules = [r for r in rules if r.predicate is not None]
        self._silent_rules = [r for r in rules if isinstance(r.config, SilentRuleConfig)]
        self._gateway_rules = [r for r in rules if isinstance(r.config, GatewayOfflineRuleConfig)]
        self.devices = DeviceBook(registry, self._condition_rules, self._silent_rules)
        self.gateways = GatewayBook()
        self._tracks: dict[AlertKey, Track] = {}
        self._alerts: dict[AlertKey, Alert] = {}
        self._active_since: dict[str, object] = dict.fromkeys(self._rules, _UNKNOWN)
        self._started_ms = 0

    # ------------------------------------------------------------------ start-up

    def load(self) -> None:
        """Recover alerts, conditions, devices and gateways after a (re)start."""
        with self._lock:
            now = self._started_ms = now_ms(self.clock)
            for key, state in self.store.conditions().items():
                if key[0] in self._rules:
                    self._tracks[key] = Track(state.holds, state.since_ms)
            for known in self.registry.devices():
                dev = self.devices.get(known.site, known.gateway, known.device, known.kind)
                seen = known.last_seen_ms
                dev.last_ts = min(seen, now) if seen is not None else None  # never ahead
                dev.values = dict(known.values)
            for (site, gateway), status in self.registry.gateway_status().items():
                self.gateways.restore(site, gateway, status, now)
            orphans = []
            for alert in self.store.active_alerts():
                if alert.rule in self._rules:
                    self._alerts[_key(alert)] = alert
                else:
                    orphans.append(alert)
            if orphans:
                self._run(lambda: self._resolve_orphans(orphans, now))
            self._run(lambda: self._refresh_schedules(now))
            log.info(
                "rules engine: %d rule(s), %d active alert(s)", len(self._rules), len(self._alerts)
            )

    def _resolve_orphans(self, alerts: list[Alert], now: int) -> None:
        for alert in alerts:  # their rule was removed from the config
            self.lifecycle.resolve(alert, None, now, self._words("reason.rule_removed"))

    # ------------------------------------------------------------------ inputs

    def on_readings(self, site: str, gateway: str, readings: list[Reading]) -> None:
        """Evaluate one envelope's accepted readings (a ReadingListener)."""
        with self._lock:
            now = now_ms(self.clock)
            self.gateways.heard(site, gateway, now)
            self._run(lambda: self._readings(site, gateway, readings, now))

    def on_status(self, site: str, gateway: str, status: Status) -> None:
        """A gateway's status message (online, or offline from its last will, or stopped)."""
        with self._lock:
            now = now_ms(self.clock)
            gw = self.gateways.heard(site, gateway, now)
            gw.status, gw.status_ms = status.state, now
            self._run(lambda: self._check_gateways(now))

    def _readings(self, site: str, gateway: str, readings: list[Reading], now: int) -> None:
        newest = 0
        for reading in readings:
            dev = self.devices.get(site, gateway, reading.device, reading.kind)
            dev.heard_ms = now  # even a late reading shows the device is alive
            ts = reading.ts
            if ts > now:  # rule time never runs ahead of ours (skew.py)
                newest, ts = max(newest, ts), now
            if dev.last_ts is not None and ts < dev.last_ts:
                self.metrics.late_readings.inc()
                self._out_of_order(dev, reading, ts, now)
                continue
            dev.last_ts = ts
            dev.values.update(reading.values)
            for rule in dev.silent_rules:
                alert = self._alerts.get((rule.id, site, gateway, dev.device))
                if alert is not None:
                    self._end(alert, rule, now)
            backlog = now - ts > STALE_MS
            for rule in dev.condition_rules:
                self._evaluate(rule, dev, ts, now, backlog)
        self.skew.check(site, gateway, readings, newest, now)
        self._check_gateways(now)

    def on_meta(self, site: str, gateway: str, removed: set[str], gone: bool = False) -> None:
        """A gateway's device list changed (a MetaListener): end the alerts of devices it
        no longer has, of devices whose tags no longer match the alert's rule, and when
        the gateway itself is ``gone`` (taken out of service), its own."""
        with self._lock:
            now = now_ms(self.clock)
            self._run(lambda: self._rematch(site, gateway, removed, gone, now))

    def _rematch(self, site: str, gateway: str, removed: set[str], gone: bool, now: int) -> None:
        if gone:
            self.gateways.forget(site, gateway)
        for key, alert in list(self._alerts.items()):
            rule = self._rules[alert.rule]
            if key[1:3] != (site, gateway):
                continue
            if rule in self._gateway_rules:
                if gone:
                    self._end(alert, rule, now, self._words("reason.gateway_removed"))
                continue
            if alert.device in removed:
                self._end(alert, rule, now, self._words("reason.device_removed"))
                continue
            if not self.devices.watches(self.devices.get(*key[1:], alert.kind), rule):
                self._end(alert, rule, now, self._words("reason.no_longer_matches"))
        for device in removed:
            self.devices.forget((site, gateway, device))
        for key in [k for k in self._tracks if k[1:3] == (site, gateway) and k[3] in removed]:
            del self._tracks[key]

    def _words(self, key: str, **values: object) -> str:
        return say(key, self.config.site.language, **values)

    # ------------------------------------------------------------------ conditions

    def _evaluate(
        self, rule: CompiledRule, dev: DeviceState, ts: int, now: int, backlog: bool
    ) -> None:
        key = (rule.id, dev.site, dev.gateway, dev.device)
        assert rule.predicate is not None
        holds = rule.predicate(dev.values)  # type: ignore[arg-type]
        track = self._tracks.get(key)
        if track is None or track.holds != holds:
            track = self._tracks[key] = Track(holds, ts)
            self.store.save_condition(*key, ConditionState(holds, ts))
        if backlog:
            track.settle_until_ms = now + SETTLE_MS
        alert = self._alerts.get(key)
        if holds:
            if alert is not None:
                alert.value = as_number(dev.values.get(alert.field or ""))
            self._hold(rule, dev, track, now)
        elif alert is not None:
            if alert.state == "pending" and backlog and self._worth_telling_late(rule, alert, ts):
                self.lifecycle.late(alert, rule.config, ts, now)
                del self._alerts[_key(alert)]
                return
            if alert.state == "pending" and backlog:
                self.metrics.stale_suppressed.inc()
            if not (alert.state == "firing" and getattr(rule.config, "latch", False)):
                self._end(alert, rule, now)  # a latched alert waits for its acknowledgement

    @staticmethod
    def _worth_telling_late(rule: CompiledRule, alert: Alert, ended_ms: int) -> bool:
        """A critical condition that held for the rule's ``for`` inside a backlog."""
        return rule.config.severity == "critical" and ended_ms - alert.since_ms >= rule.hold_ms

    def _hold(self, rule: CompiledRule, dev: DeviceState, track: Track, now: int) -> None:
        """The condition holds: open an alert if the rule is active, fire it when due."""
        active_since = self._active_since.get(rule.id)
        if not isinstance(active_since, float):
            return
        key = (rule.id, dev.site, dev.gateway, dev.device)
        alert = self._alerts.get(key)
        if alert is None:
            since = max(track.since_ms, int(max(active_since, 0) * 1000))
            alert = self._open(rule, dev, since, now)
        if alert.state == "pending" and self._due(rule, alert, track, now):
            self.lifecycle.fire(alert, rule.config, now)

    @staticmethod
    def _due(rule: CompiledRule, alert: Alert, track: Track, now: int) -> bool:
        if now < track.settle_until_ms:
            return False
        return rule.hold_ms == 0 or now >= alert.since_ms + rule.hold_ms

    def _open(self, rule: CompiledRule, dev: DeviceState, since: int, now: int) -> Alert:
        alert = self.lifecycle.open(rule.config, dev, since, now)
        self._alerts[_key(alert)] = alert
        return alert

    def _end(
        self,
        alert: Alert,
        rule: CompiledRule,
        now: int,
        note: str | None = None,
        ending: str | None = None,
    ) -> None:
        """The condition cleared (or the rule stopped applying): drop or resolve."""
        if alert.state == "pending":
            self.lifecycle.drop(alert)
        else:
            self.lifecycle.resolve(alert, rule.config, now, note, ending)
        del self._alerts[_key(alert)]

    # ------------------------------------------------------------------ time

    def tick(self) -> None:
        """Advance timers: schedule boundaries, hold times, silence, repeat, escalation."""
        with self._lock:
            now = now_ms(self.clock)
            self._run(lambda: self._tick(now))
            self.metrics.alerts_active.set(len(self._alerts))

    def _tick(self, now: int) -> None:
        self._refresh_schedules(now)
        for key, alert in list(self._alerts.items()):
            rule = self._rules[alert.rule]
            track = self._tracks.get(key)
            if alert.state == "pending" and track is not None and track.holds:
                if self._due(rule, alert, track, now):
                    self.lifecycle.fire(alert, rule.config, now)
            elif alert.state == "firing":
                self._remind(alert, rule, now)
        self._check_silence(now)
        self._check_gateways(now)

    def _remind(self, alert: Alert, rule: CompiledRule, now: int) -> None:
        config = rule.config
        if alert.last_notified_ms is None:
            return  # fired untold (once_per): no reminders either
        started = alert.started_ms or alert.since_ms
        if (
            config.escalate
            and not alert.escalated
            and now >= started + to_ms(config.escalate.after)
        ):
            self.lifecycle.escalate(alert, config, now)
        if config.repeat and now >= (alert.last_notified_ms or started) + to_ms(config.repeat):
            self.lifecycle.repeat(alert, config, now)

    def _refresh_schedules(self, now: int) -> None:
        by_active: dict[object, float | None] = {}  # many rules share a schedule
        for rule in self._rules.values():
            active = rule.config.active
            if active not in by_active:
                by_active[active] = self.schedules.active_since(active, now / 1000)
            since = by_active[active]
            if since == self._active_since[rule.id]:
                continue
            self._active_since[rule.id] = since
            if since is None:
                still = self._words("still_at", time=clock_time(now, self.schedules.tz.key)[-8:-3])
                for alert in [a for a in self._alerts.values() if a.rule == rule.id]:
                    self._end(alert, rule, now, still, "schedule_end")
            elif rule.predicate is not None:
                for key, track in list(self._tracks.items()):
                    if key[0] != rule.id or not track.holds:
                        continue
                    dev = self.devices.find(key[1:])
                    if dev is not None and rule in dev.condition_rules:
                        self._hold(rule, dev, track, now)

    def _check_silence(self, now: int) -> None:
        for dev in self.devices.all():
            last = max(dev.heard_ms, self._started_ms)
            for rule in dev.silent_rules:
                config = rule.config
                assert isinstance(config, SilentRuleConfig)
                if now - last <= silence_ms(config, dev):
                    continue
                if (rule.id, dev.site, dev.gateway, dev.device) in self._alerts:
                    continue
                if isinstance(self._active_since[rule.id], float) and not self._gateway_down(
                    dev.site, dev.gateway
                ):
                    alert = self._open(rule, dev, last, now)
                    self.lifecycle.fire(alert, config, now)

    def _gateway_down(self, site: str, gateway: str) -> bool:
        if self.gateways.reported_down(site, gateway):
            return True
        return any((r.id, site, gateway, gateway) in self._alerts for r in self._gateway_rules)

    def _check_gateways(self, now: int) -> None:
        for rule in self._gateway_rules:
            config = rule.config
            assert isinstance(config, GatewayOfflineRuleConfig)
            limit = to_ms(config.gateway_offline)
            active = isinstance(self._active_since[rule.id], float)
            for (site, gateway), gw in self.gateways.items():
                if not rule.matches({"site": site, "gateway": gateway, "device": gateway}):
                    continue
                key = (rule.id, site, gateway, gateway)
                alert = self._alerts.get(key)
                since = gw.down_since(now, limit) if active else None
                if since is None:
                    if alert is not None:
                        self._end(alert, rule, now)
                    continue
                if alert is None:
                    dev = DeviceState(site, gateway, gateway, "gateway", {}, None, 0, 0)
                    alert = self._open(rule, dev, since, now)
                if alert.state == "pending" and now >= alert.since_ms + limit:
                    self.lifecycle.fire(alert, config, now)

    # ------------------------------------------------------------------ transactions

    def _run(self, work: Callable[[], None]) -> None:
        """Run ``work`` (under the engine lock) as one store transaction."""
        self.lifecycle.run(work, self._reload_alerts)

    def _reload_alerts(self) -> None:
        # In-memory alerts may hold changes the rollback undid: take the store's word,
        # except for alerts only memory has (negative ids, kept while the disk was full).
        kept = {k: a for k, a in self._alerts.items() if a.id < 0}
        self._alerts = {_key(a): a for a in self.store.active_alerts() if a.rule in self._rules}
        self._alerts.update(kept)


def _key(alert: Alert) -> AlertKey:
    return (alert.rule, alert.site, alert.gateway, alert.device)
