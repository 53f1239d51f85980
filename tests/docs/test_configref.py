"""The configuration reference (docs/reference) says what the config models say."""

from __future__ import annotations

import re
from typing import Annotated, Any

import pytest
import yaml
from pydantic import TypeAdapter, ValidationError

from tests.docs.values import plausible
from tools.configref import REFERENCES, ROOT, Reference, Section, render, sections
from tools.typetext import nested

# Required values with no example in the shipped files, and why that is right.
NO_EXAMPLE = {
    "sources[] (type: simulated)",  # the demo's and the tests' simulated devices
    "sources[] (type: simulated).devices[]",
}
# Models a config's own parser makes from text (`silent_for: 3x`): documented as that text.
WRITTEN_AS_TEXT = {"IntervalMultiple"}


@pytest.mark.parametrize("reference", REFERENCES, ids=lambda r: r.output.name)
def test_the_reference_is_what_the_models_say(reference: Reference) -> None:
    current = reference.output.read_text(encoding="utf-8")
    assert current == render(reference), (
        f"{reference.output.relative_to(ROOT)} is stale: run `python -m tools.configref`"
    )


@pytest.mark.parametrize("reference", REFERENCES, ids=lambda r: r.output.name)
def test_every_section_of_the_config_has_its_table(reference: Reference) -> None:
    # pydantic's own walk of the models (its JSON schema) finds the same sections.
    defined = set(reference.model.model_json_schema()["$defs"]) | {reference.model.__name__}
    described = {s.model.__name__ for s in _sections(reference)}
    assert described == defined - WRITTEN_AS_TEXT


@pytest.mark.parametrize("reference", REFERENCES, ids=lambda r: r.output.name)
def test_every_required_value_has_an_example(reference: Reference) -> None:
    missing = [
        (section.path, name)
        for section in _sections(reference)
        for name, info in section.model.model_fields.items()
        if info.is_required()
        and not nested(info.annotation)  # a section: its own keys have the examples
        and not any(isinstance(d, dict) and (info.alias or name) in d for d in section.docs)
    ]
    assert [(path, key) for path, key in missing if path not in NO_EXAMPLE] == []


@pytest.mark.parametrize("reference", REFERENCES, ids=lambda r: r.output.name)
def test_the_example_files_are_valid(reference: Reference, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in reference.examples:
        text = (ROOT / name).read_text(encoding="utf-8")
        for variable in set(re.findall(r"\$\{(\w+)\}", text)):
            monkeypatch.setenv(variable, plausible(variable))
        loaded = reference.loader(ROOT / name)
        assert loaded is not None, name


def test_a_comment_above_a_field_is_its_meaning() -> None:
    page = (ROOT / "docs/reference/ingest-config.md").read_text(encoding="utf-8")
    # ingest/config/schema.py: "# gzip request bodies; default: only when InfluxDB is on ..."
    assert re.search(
        r"^\| `gzip` \| true/false or null \| `null` \| .*\| gzip request bodies", page, re.M
    )
    assert "| `batch_kb` | integer (≥ 16, ≤ 65536) | `2048` |" in page


def _sections(reference: Reference) -> list[Section]:
    docs = [yaml.safe_load((ROOT / f).read_text(encoding="utf-8")) for f in reference.examples]
    return list(sections("", reference.model, docs))


@pytest.mark.parametrize("reference", REFERENCES, ids=lambda r: r.output.name)
def test_every_default_and_example_shown_is_valid_as_written(reference: Reference) -> None:
    # What a reader copies from a cell, read as YAML, is a valid value of that key.
    wrong, page = [], render(reference)
    for section in _sections(reference):
        rows = _rows(page, section.path)
        for name, info in section.model.model_fields.items():
            kind: Any = info.annotation
            field: TypeAdapter[Any] = TypeAdapter(
                Annotated[kind, *info.metadata] if info.metadata else kind
            )
            for cell in rows[info.alias or name][1:3]:  # default, example
                if not cell.startswith("`") or cell.endswith("…`") or "${" in cell:
                    continue  # none, shortened, or a secret the loader fills in
                try:
                    field.validate_python(yaml.safe_load(f"k: {cell[1:-1]}")["k"])
                except (ValidationError, yaml.YAMLError) as exc:
                    wrong.append(f"{section.path}.{name}: {cell}: {exc}")
    assert wrong == []


def _rows(page: str, path: str) -> dict[str, list[str]]:
    """The cells (type, default, example, meaning) of each key of one section's table."""
    title = f"## `{path or '(top level)'}`\n"
    table = page.split(title, 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in table.splitlines():
        if line.startswith("| `"):
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
            rows[cells[0].strip("`")] = [c.replace("\\|", "|") for c in cells[1:]]
    return rows
