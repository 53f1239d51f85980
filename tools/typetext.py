"""How the reference writes a field's type, default and example values for people."""

from __future__ import annotations

import enum
import json
import types
import typing
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import annotated_types as at
import yaml
from pydantic import BaseModel, BeforeValidator, StringConstraints, Tag
from pydantic.fields import FieldInfo

from campuswatch.durations import format_duration

PLAIN: dict[object, str] = {
    bool: "true/false",
    int: "integer",
    float: "number",
    str: "text",
    Path: "path",
    timedelta: "duration",
    time: "time of day",
    date: "date",
    datetime: "date and time",
    type(None): "null",
}
LONGEST = 60  # characters of a default or example shown in a cell


def _strip(annotation: Any) -> tuple[Any, list[Any]]:
    """The type under ``Annotated``, with the metadata collected on the way."""
    metadata: list[Any] = []
    while typing.get_origin(annotation) is Annotated:
        annotation, *more = typing.get_args(annotation)
        metadata += more
    return annotation, metadata


def _members(annotation: Any) -> list[Any]:
    if typing.get_origin(annotation) in (Union, types.UnionType):
        return list(typing.get_args(annotation))
    return [annotation]


def type_text(
    annotation: Any, metadata: list[Any] | None = None, named: Mapping[type, str] | None = None
) -> str:
    """The type as a reader writes it: ``integer ≥ 1``, ``list of text``, a section
    (``named``: the key path where each section is described)."""
    named = named or {}
    annotation, more = _strip(annotation)
    written = _written_as([*(metadata or []), *more])
    if written:
        return written
    if typing.get_origin(annotation) not in (Union, types.UnionType):
        text = _one(annotation, named)
        limits = _limits([*(metadata or []), *more])
        return f"{text} ({limits})" if limits else text
    limits = _limits([*(metadata or []), *more])
    members = [m for m in _members(annotation) if m is not type(None)]
    if len(members) > 1 and all(_is_model(_strip(m)[0]) for m in members):
        text = "one of the forms, each a section"
    elif len(members) > 1:
        text = " or ".join(type_text(m, named=named) for m in members)
    else:
        text = type_text(members[0], named=named) if members else "null"
    if type(None) in _members(annotation):
        text += " or null"
    return f"{text} ({limits})" if limits else text


def _one(annotation: Any, named: Mapping[type, str]) -> str:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Literal:
        return "one of " + ", ".join(value_text(a) for a in args)
    if origin in (list, set, frozenset):
        return f"list of {type_text(args[0], named=named)}"
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        return f"list of {type_text(args[0], named=named)}"
    if origin is tuple:
        return "list of " + ", ".join(type_text(a, named=named) for a in args)
    if origin is dict:
        return f"map of {type_text(args[0])} to {type_text(args[1], named=named)}"
    if _is_model(annotation):
        return f"section `{named[annotation]}`" if annotation in named else "section"
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "one of " + ", ".join(f"`{m.value}`" for m in annotation)
    return PLAIN.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _written_as(metadata: list[Any]) -> str | None:
    """What a config's own parser (``config/types.py``) accepts, from its docstring: such
    a value is written as text (``3x``, ``2026-10-01..2026-10-08``), not as its type."""
    for item in metadata:
        func = getattr(item, "func", None)
        if isinstance(item, BeforeValidator) and func.__module__.endswith("config.types"):
            said = " ".join((func.__doc__ or "").split())
            return said.removeprefix("Parse ").replace("``", "`").rstrip(".")
    return None


def _limits(metadata: list[Any]) -> str:
    parts = []
    for item in metadata:
        if isinstance(item, FieldInfo):
            parts.append(_limits(item.metadata))
        elif isinstance(item, at.Ge):
            parts.append(f"≥ {item.ge}")
        elif isinstance(item, at.Gt):
            parts.append(f"> {item.gt}")
        elif isinstance(item, at.Le):
            parts.append(f"≤ {item.le}")
        elif isinstance(item, at.Lt):
            parts.append(f"< {item.lt}")
        elif isinstance(item, at.MinLen) and item.min_length:
            parts.append(f"at least {item.min_length}")
        elif isinstance(item, at.MaxLen):
            parts.append(f"at most {item.max_length}")
        elif isinstance(item, StringConstraints):
            parts.append(_string_limits(item))
    return ", ".join(p for p in parts if p)


def _string_limits(item: StringConstraints) -> str:
    parts = []
    if item.min_length:
        parts.append(f"at least {item.min_length} characters")
    if item.max_length:
        parts.append(f"at most {item.max_length} characters")
    if item.pattern:
        parts.append(f"matching `{item.pattern}`")
    return ", ".join(parts)


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def nested(
    annotation: Any, metadata: list[Any] | None = None
) -> list[tuple[str, list[tuple[str, type[BaseModel]]]]]:
    """The sections under a field: (key suffix, [(form label, model)]); the suffix is
    ``""`` for a section, ``[]`` for a list's items, ``.<name>`` for a map's values."""
    annotation, more = _strip(annotation)
    if _written_as([*(metadata or []), *more]):
        return []
    found = []
    for annotated in _members(annotation):
        member, _ = _strip(annotated)
        origin, args = typing.get_origin(member), typing.get_args(member)
        if origin in (list, tuple) and args:
            found += [("[]", forms) for _, forms in nested(args[0]) if forms]
        elif origin is dict:
            found += [(".<name>", forms) for _, forms in nested(args[1]) if forms]
        elif _is_model(member):
            found.append(("", [("", member)]))
        elif origin in (Union, types.UnionType):
            found += nested(member)
    forms = [f for _, fs in found for f in fs]
    if len(found) > 1 and len({s for s, _ in found}) == 1 and len(forms) > 1:
        return [(found[0][0], _labelled(annotation, forms))]
    return found


def _labelled(
    annotation: Any, forms: list[tuple[str, type[BaseModel]]]
) -> list[tuple[str, type[BaseModel]]]:
    """Name each form of a union by its ``type`` value, else its tag, else its class."""
    tags = {}
    for member in _members(_strip(annotation)[0]):
        model, metadata = _strip(member)
        for tag in (m for m in metadata if isinstance(m, Tag)):
            tags[model] = tag.tag
    labelled = []
    for _, model in forms:
        kind = model.model_fields.get("type")
        literal = kind is not None and typing.get_origin(kind.annotation) is Literal
        if kind is not None and literal:
            label = "type: " + ", ".join(str(a) for a in typing.get_args(kind.annotation))
        else:
            label = tags.get(model, model.__name__)
        labelled.append((label, model))
    return labelled


def default_text(info: FieldInfo) -> str:
    """The default as written in the file, or *required*."""
    if info.is_required():
        return "**required**"
    value = info.default_factory() if info.default_factory else info.default  # type: ignore[call-arg]
    if isinstance(value, BaseModel):
        changed = value.model_dump(exclude_defaults=True)
        return value_text(changed) if changed else "(its defaults)"
    return value_text(value)


def value_text(value: Any) -> str:
    """A value as YAML would show it, shortened to ``LONGEST`` characters."""
    plain = _plain(value)
    text = json.dumps(plain, ensure_ascii=False)
    if isinstance(plain, str) and _reads_back(plain):
        text = plain  # YAML reads it back as this text (not ON, 1.5, null, *)
    text = text if len(text) <= LONGEST else text[: LONGEST - 1] + "…"
    return f"`{text}`" if text else '`""`'


def _reads_back(text: str) -> bool:
    """Whether ``key: text`` in YAML is this text again, unquoted."""
    try:
        return bool(yaml.safe_load(f"k: {text}") == {"k": text})
    except yaml.YAMLError:
        return False


def _plain(value: Any) -> Any:
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, date | Path):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_defaults=True)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    return value
