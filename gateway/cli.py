"""``campus-gateway``: the program each Raspberry Pi runs.

The gateway's sources, store-and-forward buffer and uplink are built in issue #3; until
then both commands say so and exit with the usage code, so no script mistakes this for
a running gateway. The wire protocol the gateway speaks is already in
:mod:`gateway.protocol`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``campus-gateway``."""
    parser = argparse.ArgumentParser(prog="campus-gateway", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("run", "check"):
        cmd = sub.add_parser(name)
        cmd.add_argument("--config", type=Path, required=True, help="YAML config file")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``campus-gateway`` console script."""
    args = build_parser().parse_args(argv)
    print(
        f"campus-gateway {args.command}: the gateway program is not built yet (issue #3); "
        "the simulated campus of `campus-ingest demo` stands in for gateways meanwhile",
        file=sys.stderr,
    )
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
