"""Grafana's query-time substitutions for InfluxQL, as its documentation describes them.

- ``$timeFilter`` -> ``time >= FROMms and time <= TOms`` for the panel's time range
  (the dashboard's, or the panel's own relative time ``timeFrom``);
- ``$__interval`` -> the range divided by the panel's data points (``maxDataPoints``,
  else about 1,000: a screen's width), rounded to Grafana's interval steps, and never
  below the panel's minimum interval (``interval`` in its JSON);
- template variables -> their value, regex-escaped for ``=~ /^$var$/``; "All" with a
  custom all value gives that value (``.*``); a constant gives its text.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

MAX_DATA_POINTS = 1000
_STEPS_S = (1, 5, 10, 15, 30, 60, 300, 600, 900, 1800, 3600, 10800, 21600, 43200, 86400)
_RELATIVE = re.compile(r"^(?:now-)?(\d+)([smhdw])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def time_range(relative: str, now: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """``now-24h``, ``1h`` (a panel's timeFrom) or ``now/d`` (today so far)."""
    if relative == "now/d":
        local = now.astimezone(tz)
        return local.replace(hour=0, minute=0, second=0, microsecond=0), now
    match = _RELATIVE.match(relative)
    assert match, relative
    return now - timedelta(seconds=int(match.group(1)) * _UNIT_S[match.group(2)]), now


def interval(
    start: datetime, end: datetime, minimum: str | None = None, max_points: int | None = None
) -> str:
    """``$__interval`` for the range (at least the panel's ``interval``), as InfluxQL wants it."""
    wanted = (end - start).total_seconds() / (max_points or MAX_DATA_POINTS)
    if minimum:
        match = _RELATIVE.match(minimum)
        assert match, minimum
        wanted = max(wanted, int(match.group(1)) * _UNIT_S[match.group(2)])
    seconds = next((s for s in _STEPS_S if s >= wanted), _STEPS_S[-1])
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def substitute(
    query: str,
    start: datetime,
    end: datetime,
    variables: dict[str, str],
    min_interval: str | None = None,
    max_points: int | None = None,
) -> str:
    """The query as Grafana sends it to InfluxDB."""
    from_ms, to_ms = int(start.timestamp() * 1000), int(end.timestamp() * 1000)
    query = query.replace("$timeFilter", f"time >= {from_ms}ms and time <= {to_ms}ms")
    query = query.replace("$__interval", interval(start, end, min_interval, max_points))
    for name in sorted(variables, key=len, reverse=True):  # $building before $b...
        query = query.replace(f"${name}", variables[name])
    assert not re.search(r"\$\w", query), f"unknown variable in {query}"
    return query
