"""Alert rules (SPEC §5): conditions, silence and gateway-offline rules."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, StringConstraints, Tag, model_validator

from campuswatch.configfile import Strict
from campuswatch.durations import Duration
from campuswatch.protocol import Kind
from ingest.config.base import Identifier, Name, Severity
from ingest.config.types import SilentFor

Comparator = Literal["eq", "ne", "gt", "ge", "lt", "le"]
COMPARATORS: tuple[Comparator, ...] = ("eq", "ne", "gt", "ge", "lt", "le")
Scalar = bool | int | float | str


class ComparisonConfig(Strict):
    """``{field: celsius, gt: 8}``: exactly one comparator."""

    field: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_]{1,64}$")]
    eq: Scalar | None = None
    ne: Scalar | None = None
    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None

    @model_validator(mode="after")
    def _one_comparator(self) -> ComparisonConfig:
        given = [op for op in COMPARATORS if getattr(self, op) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of eq ne gt ge lt le (got {given or 'none'})")
        return self

    @property
    def operator(self) -> tuple[Comparator, Scalar]:
        """The comparator given and its operand."""
        for op in COMPARATORS:
            operand = getattr(self, op)
            if operand is not None:
                return op, operand
        raise AssertionError("validated to have one comparator")


class AnyOfConfig(Strict):
    """True when any condition is true."""

    any: list[ConditionConfig] = Field(min_length=1)


class AllOfConfig(Strict):
    """True when all conditions are true."""

    all: list[ConditionConfig] = Field(min_length=1)


def _condition_form(value: Any) -> str:
    if isinstance(value, dict):
        if "any" in value:
            return "any"
        if "all" in value:
            return "all"
    return "compare"


ConditionConfig = Annotated[
    Annotated[ComparisonConfig, Tag("compare")]
    | Annotated[AnyOfConfig, Tag("any")]
    | Annotated[AllOfConfig, Tag("all")],
    Discriminator(_condition_form),
]


class ActiveConfig(Strict):
    """When a rule applies: during or outside a named schedule."""

    during: str | None = None
    outside: str | None = None

    @model_validator(mode="after")
    def _one(self) -> ActiveConfig:
        if (self.during is None) == (self.outside is None):
            raise ValueError("give exactly one of during or outside")
        return self

    @property
    def schedule(self) -> str:
        """The schedule named."""
        return self.during or self.outside or ""


class EscalateConfig(Strict):
    """Notify more people when an alert stays unacknowledged."""

    after: Duration
    notify: list[Name] = Field(min_length=1)


KindOrAny = Literal[Kind, "*"]  # a kind of the protocol, or every kind


class _RuleBase(Strict):
    id: Name
    # Overrides the default title of the rule's kind in notifications ("门未上锁").
    title: Annotated[str, StringConstraints(min_length=1, max_length=80)] | None = None
    severity: Severity = "warning"
    notify: list[Name] = Field(default_factory=list)
    repeat: Duration | None = None
    escalate: EscalateConfig | None = None
    active: ActiveConfig | None = None
    where: dict[str, str] = Field(default_factory=dict)
    # Tell people at most once per this period per device (a flat battery that comes and
    # goes with the cold); the alerts in between are kept, shown, but not sent.
    once_per: Duration | None = None
    # Tell when the condition is over (【已恢复】)? A person walking past a gate camera is
    # over in seconds: its end is recorded but is noise in a chat.
    tell_resolved: bool = True

    @model_validator(mode="after")
    def _quiet_or_loud(self) -> _RuleBase:
        # An alert told once a day is never reminded or escalated: refuse the mix
        # rather than silently drop the escalation of, say, a critical rule.
        if self.once_per is not None and (self.escalate is not None or self.repeat is not None):
            raise ValueError(
                "once_per cannot be combined with repeat or escalate: an alert"
                " told at most once per period is not reminded or escalated"
            )
        return self


class ConditionRuleConfig(_RuleBase):
    """Fires when a reading of ``kind`` matches ``when`` for ``for``."""

    kind: KindOrAny
    when: ConditionConfig
    for_: Duration | None = Field(default=None, alias="for")
    # A fired alert stays until someone acknowledges it, even when the condition clears
    # (a panic button is released at once; someone must still go and look).
    latch: bool = False


class SilentRuleConfig(_RuleBase):
    """Fires when a device sends nothing for ``silent_for``."""

    kind: KindOrAny = "*"
    silent_for: SilentFor


class GatewayOfflineRuleConfig(_RuleBase):
    """Fires when a gateway is offline (last will or silence) for ``gateway_offline``."""

    gateway_offline: Duration


class RoundMissedRuleConfig(_RuleBase):
    """Fires when a window of the duty round ``round_missed`` closed with checkpoints not
    visited (SPEC §11); ends when a later window of that round is walked in full."""

    round_missed: Identifier


class SampleExcursionRuleConfig(_RuleBase):
    """Fires when a sample fridge's kept food samples were out of its class's range
    (SPEC §11: an excursion marks the samples and alerts the canteen); ends when the
    fridge reads in range again."""

    sample_excursion: Literal[True]


def _rule_form(value: Any) -> str:
    if isinstance(value, dict):
        if "gateway_offline" in value:
            return "gateway_offline"
        if "round_missed" in value:
            return "round_missed"
        if "sample_excursion" in value:
            return "sample_excursion"
        if "silent_for" in value:
            return "silent"
    return "condition"


RuleConfig = Annotated[
    Annotated[ConditionRuleConfig, Tag("condition")]
    | Annotated[SilentRuleConfig, Tag("silent")]
    | Annotated[GatewayOfflineRuleConfig, Tag("gateway_offline")]
    | Annotated[RoundMissedRuleConfig, Tag("round_missed")]
    | Annotated[SampleExcursionRuleConfig, Tag("sample_excursion")],
    Discriminator(_rule_form),
]
