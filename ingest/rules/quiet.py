"""Alerts of what went quiet: a device silent longer than its rule allows, a gateway
offline (its last will, a ``stopped`` status) or silent; checked on every tick, and a
gateway's on every message it sends."""

from __future__ import annotations

from collections.abc import Callable

from ingest.config.rules import GatewayOfflineRuleConfig, SilentRuleConfig
from ingest.rules.alerts import AlertBook
from ingest.rules.devices import DeviceBook
from ingest.rules.lifecycle import Lifecycle
from ingest.rules.model import Alert
from ingest.rules.state import CompiledRule, GatewayBook, WatchedDevice, silence_ms, to_ms
from ingest.rules.transitions import Batch


class QuietChecks:
    """Silence and gateway checks; the engine's lock guards them."""

    def __init__(
        self,
        book: AlertBook,
        lifecycle: Lifecycle,
        devices: DeviceBook,
        gateways: GatewayBook,
        gateway_rules: list[CompiledRule],
        active: Callable[[str], bool],
    ) -> None:
        """``active``: whether a rule (by id) is in its active hours now."""
        self.book = book
        self.lifecycle = lifecycle
        self.devices = devices
        self.gateways = gateways
        self.gateway_rules = gateway_rules
        self.active = active
        self.started_ms = 0  # silence counts from the engine's start at the earliest

    def check_devices(self, batch: Batch, now: int) -> None:
        """Open and fire the alerts of devices silent longer than their rule allows
        (unless their gateway is down: that is its own alert)."""
        for dev in self.devices.all():
            last = max(dev.heard_ms, self.started_ms)
            for rule in dev.silent_rules:
                config = rule.config
                assert isinstance(config, SilentRuleConfig)
                if now - last <= silence_ms(config, dev):
                    continue
                if (rule.id, dev.site, dev.gateway, dev.device) in self.book.alerts:
                    continue
                if self.active(rule.id) and not self._gateway_down(dev.site, dev.gateway):
                    alert = self._open(batch, rule, dev, last, now)
                    self.lifecycle.fire(batch, alert, config, now)

    def _gateway_down(self, site: str, gateway: str) -> bool:
        if self.gateways.reported_down(site, gateway):
            return True
        alerts = self.book.alerts
        return any((r.id, site, gateway, gateway) in alerts for r in self.gateway_rules)

    def heard_from(self, batch: Batch, now: int, site: str, gateway: str) -> None:
        """Readings came from a gateway, just heard: its offline alerts end. Usually it
        has none and is not reported down, and then no rule has anything to check (it
        cannot be silent: it was heard at ``now``)."""
        if self._gateway_down(site, gateway):
            self.check_gateways(batch, now, (site, gateway))

    def check_gateways(self, batch: Batch, now: int, only: tuple[str, str] | None = None) -> None:
        """Open, fire and end the alerts of gateways offline (their last will or
        ``stopped``) or silent longer than their rule allows; ``only``: just that gateway
        (one that was heard: the timer checks them all, a message its own gateway)."""
        for rule in self.gateway_rules:
            config = rule.config
            assert isinstance(config, GatewayOfflineRuleConfig)
            limit = to_ms(config.gateway_offline)
            active = self.active(rule.id)
            for (site, gateway), gw in self.gateways.items(only):
                if not rule.matches({"site": site, "gateway": gateway, "device": gateway}):
                    continue
                alert = self.book.alerts.get((rule.id, site, gateway, gateway))
                since = gw.down_since(now, limit) if active else None
                if since is None:
                    if alert is not None:
                        self.lifecycle.end(batch, alert, config, now)
                    continue
                if alert is None:
                    dev = WatchedDevice(site, gateway, gateway, "gateway", {}, None, 0, 0)
                    alert = self._open(batch, rule, dev, since, now)
                if alert.state == "pending" and now >= alert.since_ms + limit:
                    self.lifecycle.fire(batch, alert, config, now)

    def _open(
        self, batch: Batch, rule: CompiledRule, dev: WatchedDevice, since: int, now: int
    ) -> Alert:
        alert = self.lifecycle.open(batch, rule.config, dev, since, now)
        self.book.add(alert)
        return alert
