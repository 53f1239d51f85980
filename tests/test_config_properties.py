"""Both YAML configs, mutated at random (issue 20): any value put anywhere in the shipped
examples, and any bytes as a file, give a loaded config or ConfigError with the file and
a reason, never another exception (which would be a traceback instead of exit 2)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campuswatch.errors import ConfigError
from gateway.config import load_gateway_config
from ingest.config import load_config

ROOT = Path(__file__).parents[1]
EXAMPLES = 1000 if os.environ.get("CAMPUSWATCH_LONG_PROPERTIES") else 60
values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True)
    | st.text(max_size=30)
    | st.sampled_from(["${NOPE}", "${HOME}", "5m", "-1s", "21:30", "25:00", "1e999", "\n"]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3)
    ),
    max_leaves=8,
)
NASTY_YAML = ["a: [", "{a: 1, a: 2}", "- x", "!!python/name:os.system", "&a [*a]", "\t"]
LOADERS: dict[str, tuple[Path, Callable[[Path], object]]] = {
    "ingest": (ROOT / "firmware_configs" / "ingest.example.yaml", load_config),
    "gateway": (ROOT / "firmware_configs" / "gateways" / "gw-canteen.yaml", load_gateway_config),
}


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """The examples' ${VAR}s, so an unchanged example loads (the test would be empty)."""
    monkeypatch.setenv("MQTT_PASSWORD", "a-broker-password")
    monkeypatch.setenv("GUARD_TOKEN", "a-guard-token-1")


@pytest.mark.parametrize("name", sorted(LOADERS))
def test_the_examples_load(name: str) -> None:
    path, load = LOADERS[name]
    load(path)


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a parsed document, the document itself included."""
    found = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*path, index))
    return found


def _replace(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    doc[path[0]] = _replace(doc[path[0]], path[1:], value)
    return doc


def _load(name: str, text: str, tmp: Path) -> None:
    path = tmp / f"{name}.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        LOADERS[name][1](path)
    except ConfigError as exc:
        problems = exc.problems
    else:
        return
    assert problems
    assert all(str(path) in p for p in problems), problems


@pytest.mark.parametrize("name", sorted(LOADERS))
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data(), value=values)
def test_a_config_with_any_value_anywhere_loads_or_says_where_and_why(
    name: str, tmp_path: Path, data: st.DataObject, value: Any
) -> None:
    doc = yaml.safe_load(LOADERS[name][0].read_text())
    where = data.draw(st.sampled_from(_paths(doc)))
    _load(name, yaml.safe_dump(_replace(doc, where, value), allow_unicode=True), tmp_path)


@pytest.mark.parametrize("name", sorted(LOADERS))
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(text=st.text(max_size=200) | st.sampled_from(NASTY_YAML))
def test_any_text_as_a_config_file_loads_or_says_why(name: str, tmp_path: Path, text: str) -> None:
    _load(name, text, tmp_path)
