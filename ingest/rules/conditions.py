"""Rule conditions compiled to plain functions over a device's latest values.

A comparison on a field the device has not reported is false (unknown is not alarming);
a numeric comparison on a non-number is false.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from fnmatch import fnmatchcase
from typing import Any

from campuswatch.protocol import FieldValue
from ingest.config.rules import AllOfConfig, AnyOfConfig, ComparisonConfig, ConditionConfig

Values = Mapping[str, FieldValue]
Predicate = Callable[[Values], bool]

_ORDERING: dict[str, Callable[[Any, Any], bool]] = {
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}
_MISSING = object()


def compile_condition(condition: ConditionConfig) -> Predicate:
    """Turn a validated ``when`` into a predicate over a values mapping."""
    if isinstance(condition, AnyOfConfig):
        parts = [compile_condition(c) for c in condition.any]
        return lambda values: any(p(values) for p in parts)
    if isinstance(condition, AllOfConfig):
        parts = [compile_condition(c) for c in condition.all]
        return lambda values: all(p(values) for p in parts)
    return _compile_comparison(condition)


def _compile_comparison(comparison: ComparisonConfig) -> Predicate:
    name = comparison.field
    op, operand = comparison.operator
    if op == "eq":
        return lambda values: _same(values.get(name, _MISSING), operand)
    if op == "ne":
        return lambda values: (
            (v := values.get(name, _MISSING)) is not _MISSING and not _same(v, operand)
        )
    compare = _ORDERING[op]

    def ordered(values: Values) -> bool:
        value = values.get(name)
        return type(value) in (int, float) and compare(value, operand)

    return ordered


def _same(value: object, operand: object) -> bool:
    # true == 1 in Python; a door's open=true must not equal a count of 1.
    if isinstance(value, bool) or isinstance(operand, bool):
        return type(value) is type(operand) and value == operand
    return value == operand


def first_field(condition: ConditionConfig, values: Values) -> str | None:
    """The field the alert is about: the first comparison that holds (or the first field)."""
    if isinstance(condition, ComparisonConfig):
        return condition.field
    parts = condition.any if isinstance(condition, AnyOfConfig) else condition.all
    for part in parts:
        if compile_condition(part)(values):
            return first_field(part, values)
    return first_field(parts[0], values)


def compile_where(where: Mapping[str, str]) -> Callable[[Mapping[str, str]], bool]:
    """A filter over a device's tags (plus ``device``, ``gateway``, ``site``); globs allowed."""
    checks = [
        (key, pattern, any(c in pattern for c in "*?[")) for key, pattern in sorted(where.items())
    ]

    def matches(tags: Mapping[str, str]) -> bool:
        for key, pattern, is_glob in checks:
            value = tags.get(key)
            if value is None:
                return False
            if not (fnmatchcase(value, pattern) if is_glob else value == pattern):
                return False
        return True

    return matches
