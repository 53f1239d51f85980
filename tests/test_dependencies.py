"""No installed package is a version with a known vulnerability that this project is
exposed to (the floors in pyproject.toml, and what pip actually installed)."""

from __future__ import annotations

import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.version import Version

# package -> (first fixed version, advisory, why it matters here)
KNOWN = {
    "orjson": ("3.11.5", "CVE-2024-27454", "every MQTT payload goes through orjson.loads"),
    "starlette": ("0.49.1", "CVE-2025-62727", "Range headers on FileResponse: the snapshots"),
    "h11": ("0.16.0", "CVE-2025-43859", "the HTTP server's request parsing"),
    "opencv-python-headless": ("4.8.1.78", "CVE-2023-4863", "the bundled libwebp"),
}
PYPROJECT = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())


def _floor(package: str) -> Version | None:
    project = PYPROJECT["project"]
    specs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        specs.extend(extra)
    for spec in specs:
        name = spec.split(">=")[0].split("[")[0].strip().lower()
        if name == package and ">=" in spec:
            return Version(spec.split(">=")[1].split(",")[0].split()[0].strip('"'))
    return None


@pytest.mark.parametrize("package", sorted(KNOWN))
def test_known_vulnerable_versions_are_excluded_and_not_installed(package: str) -> None:
    fixed, advisory, why = KNOWN[package]
    floor = _floor(package)
    assert floor is not None, f"pyproject.toml sets no floor for {package} ({advisory}: {why})"
    assert floor >= Version(fixed), f"{package}>={floor} still admits {advisory} ({why})"
    assert Version(version(package)) >= Version(fixed), f"installed {package} has {advisory}"
