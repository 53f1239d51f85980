"""The import contracts (``[tool.importlinter]`` in pyproject.toml) catch a wrong import:
lint-imports runs on a copy of the code with one wrong import per contract of the service's
shape, and names each broken contract."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("campuswatch", "gateway", "ingest", "dashboards", "demo", "tests")

# (module to change, wrong import, contract that must break)
WRONG = [
    ("ingest/outbox/queue.py", "import ingest.rules.engine", "ingest is layered: web -> app"),
    (
        "ingest/web/api/health.py",
        "import ingest.web.console.pages",
        "the API and the console are sibling routers",
    ),
    (
        "ingest/notify/dispatcher.py",
        "import ingest.rules.store",
        "notify delivers what the outbox holds",
    ),
    ("campuswatch/clock.py", "import ingest.app", "the core imports neither program"),
]


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    lint = Path(sys.executable).with_name("lint-imports")
    env = {**os.environ, "PYTHONPATH": str(root), "COLUMNS": "400"}  # no wrapped names
    return subprocess.run(
        [str(lint), "--no-cache"], cwd=root, env=env, capture_output=True, text=True, timeout=300
    )


def test_a_wrong_import_breaks_the_contract_it_crosses(tmp_path: Path) -> None:
    copy = tmp_path / "campuswatch"
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, copy / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", copy)
    assert _lint(copy).returncode == 0  # the copy as it is keeps every contract
    for module, line, _contract in WRONG:
        path = copy / module
        path.write_text(path.read_text() + f"\n{line}  # noqa\n")
    result = _lint(copy)
    assert result.returncode != 0
    broken = result.stdout.split("Broken contracts", 1)[1]
    for module, line, contract in WRONG:
        assert contract in broken, f"{module}: {line} did not break {contract!r}"
