"""The product runs as ``pip install '.[server]'`` installs it: without OpenCV, the gateway,
the demo, the tests or the checkout's other folders (``make lint`` checks the imports
statically; this runs them)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# Runs in a fresh interpreter: every module of the central service imports, and the CLI
# checks a config, while cv2, gateway, demo and tests cannot be imported at all.
_PROGRAM = """
import importlib, importlib.abc, pkgutil, sys

class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("cv2", "gateway", "demo", "tests"):
            raise ImportError(f"{name} is not installed with the server")
        return None

sys.meta_path.insert(0, Refuse())
import campuswatch, dashboards, ingest
for package in (campuswatch, ingest, dashboards):
    for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        importlib.import_module(module.name)
from ingest.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    secrets = {"MQTT_PASSWORD": "x" * 16, "GUARD_TOKEN": "y" * 16}
    return subprocess.run(
        [sys.executable, "-c", _PROGRAM, *args],
        cwd=tmp_path,  # not the checkout: nothing is found beside the packages
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, **secrets},
    )


def test_the_service_imports_and_checks_a_config_without_opencv_or_the_checkout(
    tmp_path: Path,
) -> None:
    example = REPO / "firmware_configs" / "ingest.example.yaml"
    result = _run(tmp_path, "check", "--config", str(example))
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout


def test_the_demo_command_says_where_it_runs_when_the_demo_is_not_there(tmp_path: Path) -> None:
    result = _run(tmp_path, "demo", "--duration", "1")
    assert result.returncode == 2
    assert "make demo" in result.stderr
