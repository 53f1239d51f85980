"""Alerts of duty rounds (SPEC §11): a ``round_missed`` rule fires when a window of its
round closed with checkpoints not visited, and ends when a later window is walked in
full. The duty books decide which windows closed (ingest/duty/rounds.py); the alert's
``device`` is the round id, on the pseudo gateway ``duty``."""

from __future__ import annotations

from ingest.config.rules import RoundMissedRuleConfig
from ingest.rules.alerts import AlertBook
from ingest.rules.lifecycle import Lifecycle
from ingest.rules.state import CompiledRule, WatchedDevice
from ingest.rules.transitions import Batch

GATEWAY = "duty"


class RoundChecks:
    """Opens, fires and ends round alerts; the engine's lock guards them."""

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
            assert isinstance(config, RoundMissedRuleConfig)
            if config.round_missed != round_id:
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
