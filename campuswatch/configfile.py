"""Config files of both programs: YAML with ``${ENV}`` substitution, validated by a pydantic
model, with every problem reported as ``FILE: key.path: reason`` (all of them, not just the
first)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from campuswatch.errors import ConfigError

M = TypeVar("M", bound=BaseModel)


# Field types both programs' configs use.
Port = Annotated[int, Field(ge=1, le=65535)]
Url = Annotated[str, StringConstraints(pattern=r"^https?://[^\s]+$")]


class Strict(BaseModel):
    """Base of every config model of both programs: unknown keys are errors, values frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


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


def format_location(
    loc: tuple[int | str, ...], data: Any, union_tags: frozenset[str] = frozenset()
) -> str:
    """Turn a pydantic error location into ``rules[2](fridge-warm).for``.

    ``union_tags`` are the names pydantic puts into locations for union members; they are
    not keys of the file and are left out.
    """
    out = ""
    node = data
    for part in loc:
        is_key = isinstance(node, dict) and part in node
        if isinstance(part, str) and part in union_tags and not is_key:
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


def validation_problems(
    path: Path, exc: ValidationError, data: Any, union_tags: frozenset[str] = frozenset()
) -> list[str]:
    """One ``FILE: key.path: reason`` line per pydantic error."""
    problems = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if p != "function-after")
        reason = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            reason = "unknown key"
        problems.append(f"{path}: {format_location(loc, data, union_tags)}: {reason}")
    return problems


def load_model(
    path: Path,
    model: type[M],
    cross_check: Callable[[M], list[str]] | None = None,
    union_tags: frozenset[str] = frozenset(),
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
        raise ConfigError(env_problems + validation_problems(path, exc, data, union_tags)) from exc
    if cross_check is not None:
        problems += cross_check(config)
    if problems:
        raise ConfigError([f"{path}: {p}" for p in problems])
    return config


_ENV_LINE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$")


def load_env_file(path: Path) -> None:
    """Put the ``KEY=VALUE`` lines of a systemd ``EnvironmentFile`` into the environment
    (blank lines and ``#`` comments skipped, one pair of quotes around a value removed);
    ConfigError naming the file and line otherwise."""
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: cannot read the environment file: {exc}"]) from exc
    pairs: dict[str, str] = {}
    problems = []
    for number, line in enumerate(lines, 1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        found = _ENV_LINE.fullmatch(text)
        if found is None:
            problems.append(f"{path}:{number}: expected KEY=VALUE")
            continue
        value = found.group(2)
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        pairs[found.group(1)] = value
    if problems:
        raise ConfigError(problems)
    os.environ.update(pairs)
