"""The rules engine's working state: compiled rules, the devices it watches, condition
tracks and gateways."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from campuswatch.protocol import FieldValue
from ingest.config.rules import (
    ConditionRuleConfig,
    GatewayOfflineRuleConfig,
    RoundMissedRuleConfig,
    RuleConfig,
    SampleExcursionRuleConfig,
    SilentRuleConfig,
)
from ingest.config.types import IntervalMultiple
from ingest.rules.conditions import Predicate, compile_condition, compile_where

DOWN_STATES = ("offline", "stopped")


@dataclass(slots=True, eq=False)
class CompiledRule:
    """A configured rule with its filter and condition compiled."""

    config: RuleConfig
    matches: Callable[[dict[str, str]], bool]
    predicate: Predicate | None = None
    hold_ms: int = 0
    id: str = field(init=False)  # the config's, read for every reading: no property call

    def __post_init__(self) -> None:
        self.id = self.config.id

    @property
    def latch(self) -> bool:
        """A firing alert of this rule waits for its acknowledgement to end."""
        return isinstance(self.config, ConditionRuleConfig) and self.config.latch

    def wants(self, kind: str, tags: dict[str, str]) -> bool:
        """Whether this rule watches a device of ``kind`` with ``tags``."""
        config = self.config
        wanted = config.kind if isinstance(config, ConditionRuleConfig | SilentRuleConfig) else "*"
        return wanted in ("*", kind) and self.matches(tags)


@dataclass(slots=True)
class WatchedDevice:
    """A device as the engine watches it: its tags (from the registry's meta, with its
    site, gateway and id: what rules match), its values merged in reading order, when it
    was last heard from, and the rules that watch it."""

    site: str
    gateway: str
    device: str
    kind: str
    tags: dict[str, str]
    name: str | None
    interval_ms: int
    meta_version: int
    last_ts: int | None = None  # newest reading ts (gateway clock)
    heard_ms: int = 0  # when its last reading arrived (our clock): silence is judged by this
    values: dict[str, FieldValue] = field(default_factory=dict)
    condition_rules: list[CompiledRule] = field(default_factory=list)
    silent_rules: list[CompiledRule] = field(default_factory=list)


@dataclass(slots=True)
class Track:
    """Whether one rule's condition holds for one device, and since when."""

    holds: bool
    since_ms: int  # ts of the reading that made it hold (or not)
    settle_until_ms: int = 0  # a backlog reading defers firing until then


@dataclass(slots=True)
class GatewayState:
    """When a gateway was last heard from and its last status."""

    site: str
    heard_ms: int
    status: str | None = None
    status_ms: int = 0

    def down_since(self, now: int, silent_ms: int) -> int | None:
        """Since when this gateway counts as offline, or None."""
        if self.status in DOWN_STATES and self.heard_ms <= self.status_ms:
            return self.status_ms
        if now - self.heard_ms >= silent_ms:
            return self.heard_ms
        return None


class GatewayBook:
    """Every gateway heard from, by (site, gateway); the engine's lock guards it."""

    def __init__(self) -> None:
        self._gateways: dict[tuple[str, str], GatewayState] = {}

    def restore(self, site: str, gateway: str, status: str | None, now: int) -> None:
        """A gateway known before a restart, with the status it had."""
        self._gateways[(site, gateway)] = GatewayState(site, now, status, now)

    def heard(self, site: str, gateway: str, now: int) -> GatewayState:
        """The gateway sent something at ``now``."""
        gw = self._gateways.get((site, gateway))
        if gw is None:
            gw = self._gateways[(site, gateway)] = GatewayState(site, now)
        gw.heard_ms = now
        return gw

    def reported_down(self, site: str, gateway: str) -> bool:
        """Its last status was offline or stopped, and nothing came since."""
        gw = self._gateways.get((site, gateway))
        return gw is not None and gw.status in DOWN_STATES and gw.heard_ms <= gw.status_ms

    def forget(self, site: str, gateway: str) -> None:
        """A gateway taken out of service."""
        self._gateways.pop((site, gateway), None)

    def items(
        self, only: tuple[str, str] | None = None
    ) -> list[tuple[tuple[str, str], GatewayState]]:
        """Every gateway with its state, or just gateway ``only`` (when it is known)."""
        if only is None:
            return list(self._gateways.items())
        gw = self._gateways.get(only)
        return [(only, gw)] if gw is not None else []


def compile_rule(rule: RuleConfig) -> CompiledRule:
    """Compile a configured rule."""
    compiled = CompiledRule(rule, compile_where(rule.where))
    if isinstance(rule, ConditionRuleConfig):
        compiled.predicate = compile_condition(rule.when)
        compiled.hold_ms = to_ms(rule.for_) if rule.for_ else 0
    return compiled


def to_ms(duration: timedelta) -> int:
    """A duration in milliseconds."""
    return int(duration.total_seconds() * 1000)


def silence_ms(rule: SilentRuleConfig, dev: WatchedDevice) -> int:
    """How long ``dev`` may be silent under ``rule``."""
    if isinstance(rule.silent_for, IntervalMultiple):
        return int(rule.silent_for.factor * dev.interval_ms)
    return to_ms(rule.silent_for)


def as_number(value: object) -> float | None:
    """A numeric field value as float; None for booleans, text or nothing."""
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


@dataclass(frozen=True, slots=True)
class RuleSets:
    """The compiled rules by what drives them."""

    condition: list[CompiledRule]  # a reading's values
    silent: list[CompiledRule]  # a device's silence
    gateway: list[CompiledRule]  # a gateway's status
    duty: list[CompiledRule]  # the duty books (rounds, food samples)

    @classmethod
    def of(cls, rules: Iterable[CompiledRule]) -> RuleSets:
        """Sort ``rules``."""
        every = list(rules)
        duty_types = RoundMissedRuleConfig | SampleExcursionRuleConfig
        return cls(
            [r for r in every if r.predicate is not None],
            [r for r in every if isinstance(r.config, SilentRuleConfig)],
            [r for r in every if isinstance(r.config, GatewayOfflineRuleConfig)],
            [r for r in every if isinstance(r.config, duty_types)],
        )
