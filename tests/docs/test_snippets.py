"""Every config snippet and command in the guides is checked as a user would run it.

A fenced block in ``docs/`` says how it is checked on the line above it (an example file
in ``docs/examples`` says it in its first lines):

- ``<!-- check: campus-ingest -->`` / ``campus-gateway``: a whole config file, loaded as
  ``campus-ingest check`` / ``campus-gateway check`` load it;
- ``<!-- check: campus-ingest-part -->`` / ``campus-gateway-part``: some sections,
  checked on top of a small valid config;
- ``<!-- check: sh -->``: shell commands, parsed by ``bash -n``; each ``campus-ingest`` or
  ``campus-gateway`` command must exist with the options it is given (``--help`` of it);
- ``<!-- check: none (why) -->``: output to read, or a command only a campus can run.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from campuswatch.errors import ConfigError
from gateway.config.loader import load_gateway_config
from ingest.config.loader import load_config
from tests.docs.test_configref import _plausible

ROOT = Path(__file__).resolve().parents[2]
GUIDES = sorted(p for p in (ROOT / "docs").rglob("*.md") if "reference" not in p.parts)
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)
MARK = re.compile(r"<!-- check: ([\w-]+)(?: \(.+?\))? -->\s*$")
BASES: dict[str, dict[str, Any]] = {
    "campus-ingest-part": {"site": {"id": "sunshine-kg", "name": "阳光幼儿园"}},
    "campus-gateway-part": {
        "gateway": {"id": "gw-gate", "site": "sunshine-kg"},
        "uplink": {"host": "127.0.0.1"},
        "buffer": {"path": "/var/lib/campuswatch/gw-gate.db"},
        "sources": [
            {
                "type": "zigbee2mqtt",
                "broker": {"host": "127.0.0.1"},
                "devices": [{"device": "door-gate", "kind": "door", "friendly_name": "gate"}],
            }
        ],
    },
}


@dataclass(frozen=True)
class Snippet:
    """A fenced block of a guide and how it is checked."""

    where: str  # file:line
    check: str
    text: str


def snippets() -> list[Snippet]:
    """Every fenced block of the guides with its check (``unmarked`` when it has none)."""
    found = []
    for path in GUIDES:
        text = path.read_text(encoding="utf-8")
        for fence in FENCE.finditer(text):
            before = text[: fence.start()].rstrip("\n").rsplit("\n", 1)[-1]
            mark = MARK.fullmatch(before.strip())
            line = text.count("\n", 0, fence.start()) + 1
            where = f"{path.relative_to(ROOT)}:{line}"
            found.append(Snippet(where, mark.group(1) if mark else "unmarked", fence.group(2)))
    for path in sorted((ROOT / "docs" / "examples").glob("*.yaml")):  # whole example files
        text = path.read_text(encoding="utf-8")
        said = re.search(
            r"^# Checked by tests/docs/test_snippets.py with `([\w-]+) check`", text, re.M
        )
        found.append(
            Snippet(str(path.relative_to(ROOT)), said.group(1) if said else "unmarked", text)
        )
    return found


SNIPPETS = snippets()


def test_every_block_of_the_guides_says_how_it_is_checked() -> None:
    assert GUIDES, "no guides found under docs/"
    assert [s.where for s in SNIPPETS if s.check == "unmarked"] == []
    known = {"campus-ingest", "campus-gateway", *BASES, "sh", "none"}
    assert [(s.where, s.check) for s in SNIPPETS if s.check not in known] == []


CONFIGS = [s for s in SNIPPETS if s.check.startswith(("campus-ingest", "campus-gateway"))]


@pytest.mark.parametrize("snippet", CONFIGS, ids=lambda s: s.where)
def test_a_config_snippet_is_valid(
    snippet: Snippet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    check_config(snippet, tmp_path, monkeypatch)


COMMANDS = [s for s in SNIPPETS if s.check == "sh"]


@pytest.mark.parametrize("snippet", COMMANDS, ids=lambda s: s.where)
def test_a_command_snippet_parses_and_its_commands_exist(snippet: Snippet) -> None:
    check_commands(snippet)


def test_the_checks_catch_what_is_wrong(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    part = Snippet("here", "campus-gateway-part", "edge: {channels: {a: {type: log}}}\n")
    with pytest.raises(ConfigError, match=r"edge\.channels"):
        check_config(part, tmp_path, monkeypatch)
    whole = Snippet("here", "campus-ingest", "site: {id: Sunshine}\n")
    with pytest.raises(ConfigError, match=r"site\.id"):
        check_config(whole, tmp_path, monkeypatch)
    for wrong in ("campus-ingest chekc --config x.yaml", "campus-ingest check --confg x.yaml"):
        with pytest.raises(AssertionError, match=r"no such command|no option"):
            check_commands(Snippet("here", "sh", wrong + "\n"))
    with pytest.raises(AssertionError, match="syntax"):
        check_commands(Snippet("here", "sh", "if then\n"))
    check_commands(Snippet("here", "sh", "sudo campus-ingest users add --config x.yaml zhang\n"))


def check_config(snippet: Snippet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Load the snippet as ``check`` would (raises ConfigError naming the key)."""
    for variable in set(re.findall(r"\$\{(\w+)\}", snippet.text)):
        monkeypatch.setenv(variable, _plausible(variable))
    doc: Any = yaml.safe_load(snippet.text)
    assert isinstance(doc, dict), f"{snippet.where}: not a mapping of sections"
    if snippet.check in BASES:
        doc = {**BASES[snippet.check], **doc}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    loader = load_gateway_config if "gateway" in snippet.check else load_config
    loader(path)


def check_commands(snippet: Snippet) -> None:
    """``bash -n`` on the block, and each campus-* command exists with its options."""
    parsed = subprocess.run(["bash", "-n"], input=snippet.text, text=True, capture_output=True)
    assert parsed.returncode == 0, f"{snippet.where}: {parsed.stderr}"
    for line in _lines(snippet.text):
        words = shlex.split(line, comments=True)
        while words and (words[0] == "sudo" or "=" in words[0]):  # sudo, VAR=value
            words = words[1:]
        if words and words[0] in ("campus-ingest", "campus-gateway"):
            _check_command(snippet.where, words)


def _lines(text: str) -> list[str]:
    """The logical lines of a shell block (continuations joined)."""
    return [line for line in text.replace("\\\n", " ").splitlines() if line.strip()]


def _check_command(where: str, words: list[str]) -> None:
    """The command's subcommands exist and take the options given (their ``--help``)."""
    module = {"campus-ingest": "ingest.cli", "campus-gateway": "gateway.cli"}[words[0]]
    subcommands = [w for w in words[1:] if re.fullmatch(r"[a-z][a-z-]*", w)][:2]
    options = {w.split("=")[0] for w in words[1:] if w.startswith("--")}
    for depth in range(len(subcommands), 0, -1):
        shown = subprocess.run(
            [sys.executable, "-m", module, *subcommands[:depth], "--help"],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        if shown.returncode == 0:
            missing = [o for o in options if o not in shown.stdout]
            assert missing == [], f"{where}: {' '.join(words)}: no option {missing}"
            return
    raise AssertionError(f"{where}: {' '.join(words)}: no such command")
