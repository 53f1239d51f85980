"""Load a YAML config: ``${ENV}`` substitution, validation, and errors that name the
file, the key path and the reason (all of them at once, not just the first)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from gateway.protocol import GATEWAY_HEALTH_FIELDS, KINDS, FieldType
from ingest.config.schema import (
    UNION_TAGS,
    AllOf,
    AnyOf,
    Condition,
    ConditionRule,
    IngestConfig,
)
from ingest.errors import ConfigError

M = TypeVar("M", bound=BaseModel)
_ENV_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that refuses duplicate keys instead of keeping the last one."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _value in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            mark = key_node.start_mark
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (line {mark.line + 1})", mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


def read_yaml(path: Path) -> Any:
    """Parse a YAML file, raising ConfigError with the file and the line on failure."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: cannot read the file: {exc}"]) from exc
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([f"{path}: {where}not valid YAML: {problem}"]) from exc


def substitute_env(value: Any, path: str, problems: list[str]) -> Any:
    """Replace ``${VAR}`` in every string; a missing variable is a problem at ``path``."""
    if isinstance(value, dict):
        return {k: substitute_env(v, _join(path, str(k)), problems) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute_env(v, f"{path}[{i}]", problems) for i, v in enumerate(value)]
    if isinstance(value, str):

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in os.environ:
                problems.append(f"{path}: environment variable {name} is not set")
                return ""
            return os.environ[name]

        return _ENV_RE.sub(replace, value)
    return value


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def format_location(loc: tuple[int | str, ...], data: Any) -> str:
    """Turn a pydantic error location into ``rules[2](fridge-warm).for``."""
    out = ""
    node = data
    for part in loc:
        is_key = isinstance(node, dict) and part in node
        if isinstance(part, str) and part in UNION_TAGS and not is_key:
            continue  # the tag of a union member, not a key of the file
        if isinstance(part, int):
            out += f"[{part}]"
            node = node[part] if isinstance(node, list) and part < len(node) else None
            if isinstance(node, dict) and isinstance(node.get("id"), str):
                out += f"({node['id']})"
        else:
            out = _join(out, part)
            node = node.get(part) if isinstance(node, dict) else None
    return out or "(top level)"


def validation_problems(path: Path, exc: ValidationError, data: Any) -> list[str]:
    """One ``FILE: key.path: reason`` line per pydantic error."""
    problems = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if p != "function-after")
        reason = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            reason = "unknown key"
        problems.append(f"{path}: {format_location(loc, data)}: {reason}")
    return problems


def load_model(
    path: Path, model: type[M], cross_check: Callable[[M], list[str]] | None = None
) -> M:
    """Read, substitute and validate ``path`` as ``model``; raise ConfigError with every problem."""
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError([f"{path}: (top level): expected a mapping of sections"])
    problems: list[str] = []
    data = substitute_env(data, "", problems)
    try:
        config = model.model_validate(data)
    except ValidationError as exc:
        env_problems = [f"{path}: {p}" for p in problems]
        raise ConfigError(env_problems + validation_problems(path, exc, data)) from exc
    if cross_check is not None:
        problems += cross_check(config)
    if problems:
        raise ConfigError([f"{path}: {p}" for p in problems])
    return config


def check_references(config: IngestConfig) -> list[str]:
    """Problems a schema cannot see: unknown channels and schedules, repeated ids."""
    problems: list[str] = []
    seen: set[str] = set()
    for i, rule in enumerate(config.rules):
        where = f"rules[{i}]({rule.id})"
        if rule.id in seen:
            problems.append(f"{where}.id: rule id {rule.id!r} is used twice")
        seen.add(rule.id)
        for j, name in enumerate(rule.notify):
            if name not in config.channels:
                problems.append(f"{where}.notify[{j}]: no channel named {name!r}")
        if rule.escalate:
            for j, name in enumerate(rule.escalate.notify):
                if name not in config.channels:
                    problems.append(f"{where}.escalate.notify[{j}]: no channel named {name!r}")
        if rule.active and rule.active.schedule not in config.schedules:
            key = "during" if rule.active.during else "outside"
            problems.append(f"{where}.active.{key}: no schedule named {rule.active.schedule!r}")
        if isinstance(rule, ConditionRule):
            problems.extend(f"{where}.when{p}" for p in condition_problems(rule.kind, rule.when))
    names = [t.name for t in config.api.tokens]
    tokens = [t.token for t in config.api.tokens]
    if len(set(tokens)) != len(tokens):
        problems.append("api.tokens: the same token is given twice")
    if len(set(names)) != len(names):
        problems.append("api.tokens: the same name is given twice")
    return problems


_GATEWAY_FIELDS = dict.fromkeys(GATEWAY_HEALTH_FIELDS, FieldType.FLOAT)


def condition_problems(kind: str, condition: Condition, path: str = "") -> list[str]:
    """Comparisons on a field the kind does not have, or of the wrong type.

    A typo such as ``celcius`` would otherwise leave a rule that can never fire.
    """
    if isinstance(condition, AnyOf | AllOf):
        parts = condition.any if isinstance(condition, AnyOf) else condition.all
        key = "any" if isinstance(condition, AnyOf) else "all"
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
    return load_model(path, IngestConfig, check_references)
