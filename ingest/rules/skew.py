"""Gateway clocks that run ahead (issue 20): rule time never does.

The engine takes a reading stamped in the future as stamped now (InfluxDB stores its own
``ts``). One more than ``AHEAD_MS`` ahead means a gateway clock is wrong (no NTP, a clock
that jumped): it is counted per gateway in ``campus_readings_ahead`` and named in health
as ``clock SITE/GW`` until that gateway's readings are on time again.
"""

from __future__ import annotations

from campuswatch.protocol.readings import Reading
from ingest.health import Problems
from ingest.metrics import Metrics

AHEAD_MS = 300_000


class ClockSkew:
    """Counts and reports readings stamped well ahead of the service's clock; used under
    the engine's lock."""

    def __init__(self, problems: Problems, metrics: Metrics) -> None:
        self.problems = problems
        self.metrics = metrics
        self._reported: set[tuple[str, str]] = set()  # gateways named in health now

    def check(
        self, site: str, gateway: str, readings: list[Reading], newest_ms: int, now_ms: int
    ) -> None:
        """One envelope's ``readings``, received at ``now_ms``; ``newest_ms``: the newest
        ``ts`` among them that is ahead of ``now_ms`` (0: none is). Costs nothing more on
        the hot path when the gateway's clock is right."""
        ahead = newest_ms - now_ms
        if ahead <= AHEAD_MS:
            if (site, gateway) in self._reported:
                self._reported.discard((site, gateway))
                self.problems.clear(f"clock {site}/{gateway}")
            return
        self._reported.add((site, gateway))
        self.metrics.readings_ahead.labels(gateway).inc(
            sum(1 for r in readings if r.ts - now_ms > AHEAD_MS)
        )
        why = (
            f"readings stamped {ahead // 60_000} min ahead of this server's clock: they are"
            " stored, and count as received now for alerts (check its NTP)"
        )
        self.problems.report(f"clock {site}/{gateway}", why)
