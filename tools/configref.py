"""Write the configuration reference of both configs from their pydantic models.

``python -m tools.configref`` rewrites ``docs/reference/ingest-config.md`` and
``docs/reference/gateway-config.md``; ``tests/docs/test_configref.py`` fails when they
differ from what the models say, so the reference cannot drift.

Each section of a config (a model) becomes a table: every key with its type, its
default, an example and what it means. The meaning is the comment written above the
field (or after it) in the model's source, which is where the code keeps it; the
example is the first value the shipped example files give that key.
"""

from __future__ import annotations

import argparse
import sys
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ValidationError

from gateway.config import GatewayConfig
from gateway.config.loader import load_gateway_config
from ingest.config import IngestConfig
from ingest.config.loader import load_config
from tools.modelsource import field_comments, section_text
from tools.typetext import default_text, nested, type_text, value_text

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "reference"


@dataclass(frozen=True)
class Reference:
    """One config's reference page."""

    title: str
    command: str  # what checks such a file
    model: type[BaseModel]
    loader: Callable[[Path], object]  # what ``check`` runs on such a file
    examples: tuple[str, ...]  # files whose values are the examples, in this order
    output: Path


REFERENCES = (
    Reference(
        "campus-ingest configuration",
        "campus-ingest check --config FILE",
        IngestConfig,
        load_config,
        (
            "firmware_configs/ingest.example.yaml",
            "deploy/server/ingest.yaml",
            "docs/examples/ingest-chat-robots.yaml",
        ),
        DOCS / "ingest-config.md",
    ),
    Reference(
        "campus-gateway configuration",
        "campus-gateway check --config FILE",
        GatewayConfig,
        load_gateway_config,
        (
            "firmware_configs/gateways/gw-meter-room.yaml",
            "firmware_configs/gateways/gw-canteen.yaml",
            "firmware_configs/gateways/gw-gate.yaml",
            "docs/examples/gateway-edge.yaml",
        ),
        DOCS / "gateway-config.md",
    ),
)


@dataclass(frozen=True)
class Section:
    """A model at a key path, with the example documents found there."""

    path: str
    model: type[BaseModel]
    docs: list[Any]


def sections(
    path: str, model: type[BaseModel], docs: list[Any], shown: set[type] | None = None
) -> Iterator[Section]:
    """The section of ``model`` at ``path``, then every section nested in it; a model
    met again (a rule's ``escalate``, a condition's ``any``) is shown where it was first."""
    shown = {model} if shown is None else shown
    yield Section(path, model, docs)
    for name, info in model.model_fields.items():
        key = info.alias or name
        found = [d[key] for d in docs if isinstance(d, dict) and key in d]
        for suffix, variants in nested(info.annotation, info.metadata):
            items = _items(found, suffix)
            new = [(label, v) for label, v in variants if v not in shown]
            shown.update(v for _, v in new)  # a form's own forms are its siblings, not below
            for label, variant in new:
                where = f"{path}.{key}{suffix}".lstrip(".")
                title = f"{where} ({label})" if label else where
                fitting = [i for i in items if len(variants) == 1 or _fits(variant, i)]
                yield from sections(title, variant, fitting, shown)


def _items(found: list[Any], suffix: str) -> list[Any]:
    """The example documents one level down (list items, map values or the section)."""
    if suffix == "[]":
        return [i for d in found if isinstance(d, list) for i in d]
    if suffix:
        return [v for d in found if isinstance(d, dict) for v in d.values()]
    return found


def _fits(model: type[BaseModel], doc: Any) -> bool:
    """Whether ``doc`` is of this form: its ``type``, else whether it validates as it
    (an example's secrets are ``${VARIABLES}``, which only the loader fills in)."""
    kind = model.model_fields.get("type")
    if kind is not None and typing.get_origin(kind.annotation) is Literal:
        return isinstance(doc, dict) and doc.get("type") in typing.get_args(kind.annotation)
    try:
        model.model_validate(doc)
    except ValidationError:
        return False
    return True


def table(section: Section, named: dict[type, str]) -> list[str]:
    """The Markdown of one section: its docstring and a row per key (``named``: where
    each section is described)."""
    comments = field_comments(section.model)
    lines = [f"## `{section.path or '(top level)'}`", "", section_text(section.model), ""]
    lines += ["| key | type | default | example | meaning |", "|---|---|---|---|---|"]
    for name, info in section.model.model_fields.items():
        key = info.alias or name
        example = next((d[key] for d in section.docs if isinstance(d, dict) and key in d), None)
        # A section's own table shows its examples; a value in short form is shown here.
        below = isinstance(example, dict | list) and bool(nested(info.annotation, info.metadata))
        shown = value_text(example) if example is not None and not below else ""
        cells = [
            f"`{key}`",
            type_text(info.annotation, info.metadata, named),
            default_text(info),
            shown,
            comments.get(name, ""),
        ]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return [*lines, ""]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(reference: Reference) -> str:
    """The whole reference page of one config."""
    docs = [yaml.safe_load((ROOT / f).read_text(encoding="utf-8")) for f in reference.examples]
    head = [
        f"# {reference.title}",
        "",
        "<!-- Generated by `python -m tools.configref` from the config models; do not edit. -->",
        "",
        f"Every key that `{reference.command}` validates. Durations are written "
        "like `30s`, `5m`, `2h` or `1d`; times of day like `07:00`. Examples are from "
        + ", ".join(f"`{f}`" for f in reference.examples)
        + ".",
        "",
    ]
    found = list(sections("", reference.model, docs))
    named = {s.model: s.path for s in reversed(found)}  # where each was first described
    body = [line for s in found for line in table(s, named)]
    return "\n".join([*head, *body]).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the pages, or with ``--check`` report which are stale (exit 1)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report stale pages")
    args = parser.parse_args(argv)
    stale = []
    for reference in REFERENCES:
        text = render(reference)
        current = reference.output.read_text(encoding="utf-8") if reference.output.exists() else ""
        if text == current:
            continue
        stale.append(reference.output)
        if not args.check:
            reference.output.parent.mkdir(parents=True, exist_ok=True)
            reference.output.write_text(text, encoding="utf-8")
    for path in stale:
        print(f"{'stale' if args.check else 'written'}: {path.relative_to(ROOT)}")
    return 1 if stale and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
