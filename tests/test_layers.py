"""The import contracts (``[tool.importlinter]`` in pyproject.toml) catch a wrong import:
lint-imports runs on a copy of the code as it is (every contract kept), then, for each
contract, on a fresh copy with one import that crosses it, and must name that contract
broken."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("campuswatch", "gateway", "ingest", "dashboards", "demo", "tests", "tools")

# contract (the start of its name) -> (module to change, the import that crosses it)
WRONG = {
    "gateway and ingest never import each other": ("gateway/app.py", "import ingest.app"),
    "the core imports neither program": ("campuswatch/clock.py", "import gateway.app"),
    "the dashboards import neither program": ("dashboards/build.py", "import ingest.app"),
    "the product never imports the demo, the tests or the docs tools": (
        "ingest/app.py",
        "import tools.configref",
    ),
    "the central service runs without OpenCV": ("ingest/storage/influx.py", "import cv2"),
    "the gateway runs without msgspec": (
        "gateway/uplink.py",
        "from campuswatch.protocol.readings import parse_envelope",
    ),
    "ingest is layered": ("ingest/outbox/queue.py", "import ingest.rules.engine"),
    "the API and the console are sibling routers": (
        "ingest/web/api/health.py",
        "import ingest.web.console.pages",
    ),
    "notify delivers what the outbox holds": (
        "ingest/notify/dispatcher.py",
        "import ingest.rules.store",
    ),
}


def _copy(root: Path) -> Path:
    for package in PACKAGES:
        ignore = shutil.ignore_patterns("__pycache__")
        shutil.copytree(ROOT / package, root / package, ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", root)
    return root


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    lint = Path(sys.executable).with_name("lint-imports")
    env = {**os.environ, "PYTHONPATH": str(root), "COLUMNS": "400"}  # no wrapped names
    return subprocess.run(
        [str(lint), "--no-cache"], cwd=root, env=env, capture_output=True, text=True, timeout=300
    )


def test_every_contract_has_a_wrong_import_here() -> None:
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    names = [c["name"] for c in contracts["contracts"]]
    assert sorted(n for n in names if any(n.startswith(w) for w in WRONG)) == sorted(names)
    assert len(names) == len(WRONG)


def test_the_code_as_it_is_keeps_every_contract(tmp_path: Path) -> None:
    result = _lint(_copy(tmp_path))
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("contract", list(WRONG))
def test_a_wrong_import_breaks_the_contract_it_crosses(tmp_path: Path, contract: str) -> None:
    copy = _copy(tmp_path)
    module, line = WRONG[contract]
    path = copy / module
    path.write_text(path.read_text() + f"\n{line}  # noqa\n")
    result = _lint(copy)
    assert result.returncode != 0
    broken = result.stdout.split("Broken contracts", 1)[1]
    assert contract in broken, f"{module}: {line} did not break {contract!r}"
