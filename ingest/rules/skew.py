"""Gateway clocks that run ahead (issue 20): rule time never does.

The engine takes a reading stamped in the future as stamped now (InfluxDB stores its own
``ts``). One more than ``AHEAD_MS`` ahead means a gateway clock is wrong (no NTP, a clock
that jumped): it is counted per gateway in ``campus_readings_ahead`` and named in health
as ``clock SITE/GW`` until that gateway's readings are on time again.
"""

from __future__ import annotations

from campuswatch.protocol import Reading
from ingest.health import Problems
from ingest.metrics import Metrics

AHEAD_MS = 300_000


class ClockSkew:
    """Counts and reports readings stamped well ahead of the service's clock."""

    def __init__(self, problems: Problems, metrics: Metrics) -> None:
        self.problems = problems
        self.metrics = metrics

    def check(self, site: str, gateway: str, readings: list[Reading], now_ms: int) -> None:
        """Look at one envelope's readings, received at ``now_ms``."""
        if not readings:
            return
        ahead = max(r.ts for r in readings) - now_ms
        key = f"clock {site}/{gateway}"
        if ahead <= AHEAD_MS:
            self.problems.clear(key)
            return
        self.metrics.readings_ahead.labels(gateway).inc(
            sum(1 for r in readings if r.ts - now_ms > AHEAD_MS)
        )
        self.problems.report(
            key, f"readings stamped {ahead // 60_000} min ahead of this server's clock: they"
            " are stored, and count as received now for alerts (check its NTP)",
        )  # fmt: skip
