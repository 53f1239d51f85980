"""Write (or check) the dashboards' JSON: ``python -m dashboards.build [--check]``."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from dashboards.cold_chain import COLD_CHAIN, DEFAULT_LIMITS, Limits, cold_chain_dashboard
from dashboards.device_health import DEVICE_HEALTH
from dashboards.model import CONSOLE, TIMEZONE, Dashboard, Json, with_constants
from dashboards.night_patrol import NIGHT_PATROL
from dashboards.water_electricity import WATER_ELECTRICITY

DASHBOARDS: tuple[Dashboard, ...] = (NIGHT_PATROL, WATER_ELECTRICITY, COLD_CHAIN, DEVICE_HEALTH)
JSON_DIR = Path(__file__).resolve().parent / "json"


@dataclass(frozen=True)
class SiteSettings:
    """What a campus's dashboards take from its service config (``push --config``): the
    site timezone (days and hours in the queries, and the dashboards' own), the patrol
    console's address (alerts link to their page) and the cold-chain class limits."""

    timezone: str = TIMEZONE.constant
    console_url: str = CONSOLE.constant
    limits: Limits = field(default_factory=lambda: dict(DEFAULT_LIMITS))


def render_all(site: SiteSettings | None = None) -> dict[str, Json]:
    """Every dashboard's JSON by file name; with ``site``, drawn for that campus."""
    if site is None:  # the committed files: the defaults, in the browser's timezone
        return {f"{d.uid}.json": d.render() for d in DASHBOARDS}
    boards = [cold_chain_dashboard(site.limits) if d is COLD_CHAIN else d for d in DASHBOARDS]
    constants = {"tz": site.timezone, "console": site.console_url}
    rendered = {}
    for board in boards:
        dashboard = with_constants(board.render(), constants)
        dashboard["timezone"] = site.timezone
        rendered[f"{board.uid}.json"] = dashboard
    return rendered


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
