"""A line chart as inline SVG, drawn on the server: a device's last day or week on a phone,
with nothing loaded from another host (no script, no library in the browser)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

WIDTH, HEIGHT = 340, 140
_LEFT, _RIGHT, _TOP, _BOTTOM = 44, 8, 10, 22  # room for the value and time labels


def line_chart(
    points: Sequence[tuple[int, float]],
    *,
    start_label: str,
    end_label: str,
    unit: str,
    limits: tuple[float | None, float | None] = (None, None),
) -> str:
    """An SVG of ``points`` (epoch ms, value), oldest first; ``limits`` (low, high) are
    drawn as dashed lines (a fridge's 0～8 ℃). Empty string for fewer than two points."""
    if len(points) < 2:
        return ""
    values = [v for _, v in points] + [x for x in limits if x is not None]
    low, high = min(values), max(values)
    if high - low < 1e-9:
        low, high = low - 1, high + 1
    first, last = points[0][0], points[-1][0]
    span = max(last - first, 1)
    inner_w, inner_h = WIDTH - _LEFT - _RIGHT, HEIGHT - _TOP - _BOTTOM

    def x(ms: int) -> float:
        return _LEFT + (ms - first) / span * inner_w

    def y(value: float) -> float:
        return _TOP + (high - value) / (high - low) * inner_h

    path = " ".join(f"{x(ms):.1f},{y(v):.1f}" for ms, v in points)
    guides = "".join(
        f'<line class="limit" x1="{_LEFT}" x2="{WIDTH - _RIGHT}" y1="{y(v):.1f}" y2="{y(v):.1f}"/>'
        for v in limits
        if v is not None
    )
    u = escape(unit)
    return (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg">'
        f'<text x="2" y="{_TOP + 8}">{high:.4g}{u}</text>'
        f'<text x="2" y="{HEIGHT - _BOTTOM}">{low:.4g}{u}</text>'
        f'<text x="{_LEFT}" y="{HEIGHT - 4}">{escape(start_label)}</text>'
        f'<text x="{WIDTH - _RIGHT}" y="{HEIGHT - 4}" text-anchor="end">{escape(end_label)}</text>'
        f"{guides}"
        f'<polyline points="{path}"/></svg>'
    )
