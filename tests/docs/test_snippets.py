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

import argparse
import contextlib
import io
import re
import shlex
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from markdown_it import MarkdownIt

from campuswatch.errors import ConfigError
from gateway import cli as gateway_cli
from gateway.config.loader import load_gateway_config
from ingest import cli as ingest_cli
from ingest.config.loader import load_config
from tests.docs.values import plausible

ROOT = Path(__file__).resolve().parents[2]
GUIDES = sorted(p for p in (ROOT / "docs").rglob("*.md") if "reference" not in p.parts)
# A mark names its check; ``none`` says why it needs none.
MARK = re.compile(r"<!-- check: (?:(?!none\b)([\w-]+)|none \(.+\)) -->\s*")
MARKDOWN = MarkdownIt("commonmark")
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
        found += blocks(str(path.relative_to(ROOT)), path.read_text(encoding="utf-8"))
    for path in sorted((ROOT / "docs" / "examples").glob("*.yaml")):  # whole example files
        text = path.read_text(encoding="utf-8")
        said = re.search(
            r"^# Checked by tests/docs/test_snippets.py with `([\w-]+) check`", text, re.M
        )
        found.append(
            Snippet(str(path.relative_to(ROOT)), said.group(1) if said else "unmarked", text)
        )
    return found


def blocks(name: str, text: str) -> list[Snippet]:
    """The code blocks of one Markdown text as CommonMark finds them (fences of any
    length, indented ones, in list items), each with the check marked just above it."""
    found = []
    tokens = MARKDOWN.parse(text)
    for before, token in zip([None, *tokens], tokens, strict=False):
        if token.type not in ("fence", "code_block") or token.map is None:
            continue
        marked = before is not None and before.type == "html_block"
        mark = MARK.fullmatch(before.content.strip()) if marked and before else None
        check = (mark.group(1) or "none") if mark else "unmarked"
        found.append(Snippet(f"{name}:{token.map[0] + 1}", check, token.content))
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


def test_every_kind_of_fence_is_found() -> None:
    text = """1. In a list item:

   <!-- check: sh -->
   ```sh
   campus-ingest check --config a.yaml
   ```
2. Tildes, no mark:
   ~~~yaml title="x"
   site: {id: a}
   ~~~

<!-- check: none -->
````text
four backticks, and a none without its reason
````

    indented code
"""
    found = blocks("guide.md", text)
    checks = [(s.where, s.check) for s in found]
    unmarked = [("guide.md:8", "unmarked"), ("guide.md:13", "unmarked")]
    assert checks == [("guide.md:4", "sh"), *unmarked, ("guide.md:17", "unmarked")]
    assert found[0].text == "campus-ingest check --config a.yaml\n"


def test_the_checks_catch_what_is_wrong(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    part = Snippet("here", "campus-gateway-part", "edge: {channels: {a: {type: log}}}\n")
    with pytest.raises(ConfigError, match=r"edge\.channels"):
        check_config(part, tmp_path, monkeypatch)
    whole = Snippet("here", "campus-ingest", "site: {id: Sunshine}\n")
    with pytest.raises(ConfigError, match=r"site\.id"):
        check_config(whole, tmp_path, monkeypatch)
    twice = Snippet("here", "campus-ingest", "site: {id: a, name: b}\nsite: {id: c, name: d}\n")
    with pytest.raises(ConfigError, match="duplicate"):  # as written, not as re-dumped
        check_config(twice, tmp_path, monkeypatch)
    wrong = [
        "campus-ingest chekc --config x.yaml",
        "campus-ingest check --confg x.yaml",
        "campus-ingest users ad --config x.yaml zhang",
        "campus-ingest check --config x.yaml -Z",
        "sudo -u campus campus-ingest chekc",
        "cd /opt && campus-ingest chekc",
        "$ campus-ingest chekc",
        "echo hi | env A=1 campus-gateway chekc",
        "campus-ingest check --config a.yaml; campus-ingest run --config b.yaml --fast",
        "/opt/campuswatch/bin/campus-ingest chekc --config a.yaml",
        "sudo -u campuswatch /opt/campuswatch/bin/campus-gateway check --confg a.yaml",
        "runuser -u campuswatch -- /opt/campuswatch/bin/campus-ingest users ad --config a.yaml",
    ]
    for line in wrong:
        with pytest.raises(AssertionError, match=r"invalid choice|unrecognized|required"):
            check_commands(Snippet("here", "sh", line + "\n"))
    with pytest.raises(AssertionError, match="syntax"):
        check_commands(Snippet("here", "sh", "if then\n"))
    right = """sudo campus-ingest users add --config x.yaml zhang --name 张师傅 --role guard
campus-ingest --help
campus-gateway check \\
  --config /etc/campuswatch/gateway.yaml
/opt/campuswatch/bin/campus-ingest backup /var/backups/$(date +%F) --config x.yaml 2>&1 | tee log
campus-ingest users passwd --config x.yaml zhang <<'END'
campus-ingest chekc (a here-document's text, not a command)
END
"""
    check_commands(Snippet("here", "sh", right))


def check_config(snippet: Snippet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Load the snippet as ``check`` would (raises ConfigError naming the key)."""
    for variable in set(re.findall(r"\$\{(\w+)\}", snippet.text)):
        monkeypatch.setenv(variable, plausible(variable))
    text = snippet.text  # as written: the loader refuses what a re-dump would hide
    if snippet.check in BASES:
        doc: Any = yaml.safe_load(text)
        assert isinstance(doc, dict), f"{snippet.where}: not a mapping of sections"
        text = yaml.safe_dump({**BASES[snippet.check], **doc}, allow_unicode=True)
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    loader = load_gateway_config if "gateway" in snippet.check else load_config
    loader(path)


def check_commands(snippet: Snippet) -> None:
    """``bash -n`` on the block; each campus-* command in it (by any path) is parsed by
    that program's own argument parser (its subcommands, options and their values)."""
    parsed = subprocess.run(["bash", "-n"], input=snippet.text, text=True, capture_output=True)
    assert parsed.returncode == 0, f"{snippet.where}: {parsed.stderr}"
    for words in _commands(snippet.text):
        program = Path(words[0]).name if words else ""
        if program in PARSERS:
            _parse(snippet.where, [program, *words[1:]])


PARSERS: dict[str, Callable[[], argparse.ArgumentParser]] = {
    "campus-ingest": ingest_cli.build_parser,
    "campus-gateway": gateway_cli.build_parser,
}
SEPARATORS = {"&&", "||", "|", ";", "&", "(", ")"}
# What the shell replaces before a command sees it: $(…) and `…` (one word here), and
# redirections with their targets (2>&1, > file), which are not the command's words.
SUBSTITUTION = re.compile(r"\$\([^()]*\)|`[^`]*`")
REDIRECTION = re.compile(r"(?<!\S)\d*(?:>>?|<)(?:&\d+|\s*[^\s;&|]+)")
HEREDOC = re.compile(r"<<-?\s*['\"]?(\w+)['\"]?")


def _commands(text: str) -> Iterator[list[str]]:
    """The words of each simple command of a shell block, without what runs it
    (a ``$`` prompt, ``sudo`` and its options, ``env``, ``VAR=value``)."""
    ending = None
    for line in text.replace("\\\n", " ").splitlines():
        if ending is not None:  # a here-document's body is data, not commands
            ending = None if line.strip() == ending else ending
            continue
        heredoc = HEREDOC.search(line)
        ending = heredoc.group(1) if heredoc else None
        plain = REDIRECTION.sub(" ", SUBSTITUTION.sub("X", HEREDOC.sub(" ", line)))
        lexer = shlex.shlex(plain, posix=True, punctuation_chars=";&|()")
        lexer.whitespace_split, lexer.commenters = True, "#"
        words: list[str] = []
        for token in [*lexer, ";"]:
            if token in SEPARATORS:
                yield _runner_removed(words)
                words = []
            else:
                words.append(token)


def _runner_removed(words: list[str]) -> list[str]:
    runners = ("$", "sudo", "runuser", "env")
    while words and (words[0] in runners or re.fullmatch(r"\w+=.*", words[0])):
        runner, words = words[0], words[1:]
        while runner in ("sudo", "runuser") and words and words[0].startswith("-"):
            # sudo -u campus …, runuser -u campus -- …
            words = words[2:] if words[0] in ("-u", "-g") else words[1:]
    return words


def _parse(where: str, words: list[str]) -> None:
    """Parse ``words`` as the program would; argparse's error is the failure."""
    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors), contextlib.redirect_stdout(io.StringIO()):
            PARSERS[words[0]]().parse_args(words[1:])
    except SystemExit as exc:
        if exc.code not in (0, None):  # 0: --help
            raise AssertionError(f"{where}: {shlex.join(words)}: {errors.getvalue()}") from exc
