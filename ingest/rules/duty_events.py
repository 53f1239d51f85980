"""Alerts the duty books raise (SPEC §11), decided there and recorded by the engine like
any other: ``round_missed`` fires when a window of its round closed with checkpoints not
visited (the alert's ``device`` is the round id, on the pseudo gateway ``duty``) and ends
when a later window is walked in full (ingest/duty/rounds.py); ``sample_excursion``
fires on a sample fridge whose kept food samples were out of range, and ends when the
fridge is back in range (ingest/duty/samples.py)."""

from __future__ import annotations

from ingest.config.rules import RoundMissedRuleConfig, SampleExcursionRuleConfig
from ingest.rules.alerts import AlertBook
from ingest.rules.lifecycle import Lifecycle
from ingest.rules.state import CompiledRule, WatchedDevice
from ingest.rules.transitions import Batch

GATEWAY = "duty"


class DutyEvents:
    """Opens, fires and ends the duty books' alerts; the engine's lock guards them."""

    def __init__(
        self, book: AlertBook, lifecycle: Lifecycle, rules: list[CompiledRule], site: str
    ) -> None:
        self.book = book
        self.lifecycle = lifecycle
        self.rules = rules
        self.site = site

    def report(self, batch: Batch, round_id: str, name: str, missed: list[str], now: int) -> None:
        """A window of ``round_id`` closed: ``missed`` names the checkpoints nobody visited
        (empty: walked in full). ``name`` says which window and what was missed."""
        for rule in self.rules:
            config = rule.config
            if not isinstance(config, RoundMissedRuleConfig) or config.round_missed != round_id:
                continue
            alert = self.book.alerts.get((rule.id, self.site, GATEWAY, round_id))
            if not missed:
                if alert is not None:
                    self.lifecycle.end(batch, alert, config, now)
                continue
            if alert is None:
                dev = WatchedDevice(self.site, GATEWAY, round_id, "round", {}, name, 0, 0)
                alert = self.lifecycle.open(batch, config, dev, now, now)
                self.book.add(alert)
                self.lifecycle.fire(batch, alert, config, now)

    def sample(
        self, batch: Batch, fridge: tuple[str, str, str], name: str, out: bool, now: int
    ) -> None:
        """A sample fridge's kept samples were out of range (``out``), or it is back in
        range; ``name`` says which samples and for how long."""
        site, gateway, device = fridge
        for rule in self.rules:
            config = rule.config
            if not isinstance(config, SampleExcursionRuleConfig):
                continue
            alert = self.book.alerts.get((rule.id, site, gateway, device))
            if not out:
                if alert is not None:
                    self.lifecycle.end(batch, alert, config, now)
                continue
            if alert is None:
                dev = WatchedDevice(site, gateway, device, "temperature", {}, name, 0, 0)
                alert = self.lifecycle.open(batch, config, dev, now, now)
                self.book.add(alert)
                self.lifecycle.fire(batch, alert, config, now)
