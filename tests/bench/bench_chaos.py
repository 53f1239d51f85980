"""Chaos, the long form (issue 24 §2): ``python -m tests.bench.bench_chaos [--minutes 30]
[--seed 1]``. The world and checks of ``tests/chaos`` (real mosquitto, influxd, the
ingest and three gateways at a few hundred readings a second) under a seeded schedule of
faults for ``--minutes``; prints readings committed, stored and delivered twice, alarms
told by the server and by the gateway, faults by type and the recovery time of each.
``make test`` runs 90 seconds of it (tests/chaos/test_chaos.py)."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from tests.chaos.run import run_chaos


def main() -> None:
    """Run the chaos and print its figures; exit 1 if anything did not hold."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="campus-chaos-") as tmp:
        report = run_chaos(Path(tmp), args.seed, args.minutes * 60)
    print(report.text())
    print(f"ran {time.monotonic() - began:.0f} s")
    sys.exit(1 if report.problems else 0)


if __name__ == "__main__":
    main()
