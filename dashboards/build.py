"""Write (or check) the dashboards' JSON: ``python -m dashboards.build [--check]``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from dashboards.cold_chain import COLD_CHAIN
from dashboards.device_health import DEVICE_HEALTH
from dashboards.model import Dashboard, Json
from dashboards.night_patrol import NIGHT_PATROL
from dashboards.water_electricity import WATER_ELECTRICITY

DASHBOARDS: tuple[Dashboard, ...] = (NIGHT_PATROL, WATER_ELECTRICITY, COLD_CHAIN, DEVICE_HEALTH)
JSON_DIR = Path(__file__).resolve().parent / "json"


def render_all() -> dict[str, Json]:
    """Every dashboard's JSON by file name."""
    return {f"{d.uid}.json": d.render() for d in DASHBOARDS}


def serialise(dashboard: Json) -> str:
    """Stable, readable JSON (Chinese kept as text)."""
    return json.dumps(dashboard, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def stale_files(directory: Path = JSON_DIR) -> list[str]:
    """Files whose committed JSON differs from what the code renders (or that are missing)."""
    return [
        name
        for name, dashboard in render_all().items()
        if not (directory / name).is_file()
        or (directory / name).read_text(encoding="utf-8") != serialise(dashboard)
    ]


def main(argv: list[str] | None = None) -> int:
    """Write the JSON files, or with --check report stale ones (exit 1)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="only check, write nothing")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files()
        for name in stale:
            print(f"dashboards/json/{name} is stale: run make dashboards", file=sys.stderr)
        return 1 if stale else 0
    JSON_DIR.mkdir(exist_ok=True)
    for name, dashboard in render_all().items():
        (JSON_DIR / name).write_text(serialise(dashboard), encoding="utf-8")
        print(f"wrote dashboards/json/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
