"""Load the server config: the shared YAML loader plus the checks a schema cannot make."""

from __future__ import annotations

from pathlib import Path

from campuswatch.configfile import load_model
from campuswatch.protocol import GATEWAY_HEALTH_FIELDS, KINDS, FieldType
from ingest.config.rules import (
    AllOfConfig,
    AnyOfConfig,
    ConditionConfig,
    ConditionRuleConfig,
    RoundMissedRuleConfig,
)
from ingest.config.schema import UNION_TAGS, IngestConfig

ON_DUTY = "on_duty"  # SPEC §4: the people on duty now, through their own contacts


def check_references(config: IngestConfig) -> list[str]:
    """Problems a schema cannot see: unknown channels and schedules, repeated ids."""
    problems: list[str] = []
    known = set(config.channels) | ({ON_DUTY} if config.duty and config.duty.shifts else set())
    rounds = {r.id for r in config.duty.rounds} if config.duty else set()
    seen: set[str] = set()
    for i, rule in enumerate(config.rules):
        where = f"rules[{i}]({rule.id})"
        if rule.id in seen:
            problems.append(f"{where}.id: rule id {rule.id!r} is used twice")
        seen.add(rule.id)
        for j, name in enumerate(rule.notify):
            if name not in known:
                problems.append(f"{where}.notify[{j}]: {_unknown(name)}")
        if rule.escalate:
            for j, name in enumerate(rule.escalate.notify):
                if name not in known:
                    problems.append(f"{where}.escalate.notify[{j}]: {_unknown(name)}")
        if rule.active and rule.active.schedule not in config.schedules:
            key = "during" if rule.active.during else "outside"
            problems.append(f"{where}.active.{key}: no schedule named {rule.active.schedule!r}")
        if isinstance(rule, ConditionRuleConfig):
            problems.extend(f"{where}.when{p}" for p in condition_problems(rule.kind, rule.when))
        if isinstance(rule, RoundMissedRuleConfig) and rule.round_missed not in rounds:
            problems.append(f"{where}.round_missed: no duty round {rule.round_missed!r}")
    problems.extend(_report_problems(config, set(config.channels)))
    problems.extend(_duty_problems(config))
    names = [t.name for t in config.api.tokens]
    tokens = [t.token for t in config.api.tokens]
    if len(set(tokens)) != len(tokens):
        problems.append("api.tokens: the same token is given twice")
    if len(set(names)) != len(names):
        problems.append("api.tokens: the same name is given twice")
    return problems


def _unknown(name: str, *, report: bool = False) -> str:
    if name == ON_DUTY:
        if report:
            return "on_duty is for alert rules: a report or a check goes to channels"
        return "on_duty needs duty.shifts (who is on duty when)"
    return f"no channel named {name!r}"


def _uses_on_duty(config: IngestConfig) -> bool:
    return any(
        ON_DUTY in rule.notify or (rule.escalate is not None and ON_DUTY in rule.escalate.notify)
        for rule in config.rules
    )


def _duty_problems(config: IngestConfig) -> list[str]:
    """Fallback and contact channels that do not exist or cannot carry that contact."""
    duty = config.duty
    if duty is None:
        return []
    problems = [
        f"duty.fallback[{j}]: no channel named {name!r}"
        for j, name in enumerate(duty.fallback)
        if name not in config.channels
    ]
    if not duty.fallback and _uses_on_duty(config):
        # An empty shift must not leave an alarm with nobody to tell.
        problems.append(
            "duty.fallback: rules notify on_duty, so a channel for when nobody on"
            " duty can be reached is needed (e.g. the guard room's group)"
        )
    for kind, name in duty.contacts.model_dump().items():
        channel = config.channels.get(name) if name else None
        if name and channel is None:
            problems.append(f"duty.contacts.{kind}: no channel named {name!r}")
        elif channel is not None and channel.type != kind:
            problems.append(f"duty.contacts.{kind}: channel {name!r} is {channel.type}, not {kind}")
    return problems


def _report_problems(config: IngestConfig, known: set[str]) -> list[str]:
    reports = config.reports
    jobs: list[tuple[str, list[str]]] = [
        ("reports.weekly_usage", reports.weekly_usage.notify),
        ("reports.cold_chain", reports.cold_chain.notify),
    ]
    if config.lock_check is not None:
        jobs.append(("lock_check", config.lock_check.notify))
    return [
        f"{key}.notify[{j}]: {_unknown(name, report=True)}"
        for key, notify in jobs
        for j, name in enumerate(notify)
        if name not in known
    ]


_GATEWAY_FIELDS = dict.fromkeys(GATEWAY_HEALTH_FIELDS, FieldType.FLOAT)


def condition_problems(kind: str, condition: ConditionConfig, path: str = "") -> list[str]:
    """Comparisons on a field the kind does not have, or of the wrong type.

    A typo such as ``celcius`` would otherwise leave a rule that can never fire.
    """
    if isinstance(condition, AnyOfConfig | AllOfConfig):
        parts = condition.any if isinstance(condition, AnyOfConfig) else condition.all
        key = "any" if isinstance(condition, AnyOfConfig) else "all"
        return [
            problem
            for i, part in enumerate(parts)
            for problem in condition_problems(kind, part, f"{path}.{key}[{i}]")
        ]
    if kind == "*":
        return []
    types = _GATEWAY_FIELDS if kind == "gateway" else KINDS[kind].types
    field_type = types.get(condition.field)
    if field_type is None:
        known = ", ".join(sorted(types))
        return [f"{path}.field: kind {kind} has no field {condition.field!r} (known: {known})"]
    op, operand = condition.operator
    if field_type is FieldType.BOOL and not isinstance(operand, bool):
        return [
            f"{path}.{op}: {condition.field} is true/false; compare it with eq or ne true/false"
        ]
    if field_type in (FieldType.FLOAT, FieldType.INT) and (isinstance(operand, bool | str)):
        return [f"{path}.{op}: {condition.field} is a number; compare it with a number"]
    if field_type is FieldType.STR and not isinstance(operand, str):
        return [f"{path}.{op}: {condition.field} is text; compare it with eq or ne and a string"]
    return []


def load_config(path: Path) -> IngestConfig:
    """Load and fully validate a ``campus-ingest`` config file."""
    return load_model(path, IngestConfig, check_references, UNION_TAGS)
