"""食堂冷链 / Canteen cold chain: every fridge against its class's limits.

The default limits are those of the reports (the food-safety guidance): refrigerators and
the 48-hour sample fridge 0-8 °C, freezers at or below -18 °C, medicine fridges 2-8 °C;
``campus-ingest dashboards push --config`` draws the limits of the service's config
(``reports.classes``) instead.
"""

from __future__ import annotations

from collections.abc import Mapping

from dashboards.model import PLACE_FILTER, Dashboard, Override, Panel, Step, Target

Limits = Mapping[str, tuple[float | None, float | None]]  # class -> (min, max) °C
TITLES = {
    "refrigerator": "冷藏柜 / Refrigerators",
    "sample_fridge": "留样柜 / Sample fridges (48 h samples)",
    "freezer": "冷冻柜 / Freezers",
    "medicine_fridge": "药品冰箱 / Medicine fridges",
}
DEFAULT_LIMITS: Limits = {
    "refrigerator": (0.0, 8.0),
    "sample_fridge": (0.0, 8.0),
    "freezer": (None, -18.0),
    "medicine_fridge": (2.0, 8.0),
}


def _where(klass: str) -> str:
    return f"{PLACE_FILTER} AND \"class\" = '{klass}'"


def _curve(klass: str, low: float | None, high: float | None) -> Panel:
    # Bands: red below the lower limit, green inside, red above the upper limit.
    steps = (Step("red"), Step("green", low)) if low is not None else (Step("green"),)
    upper = (Step("red", high),) if high is not None else ()
    return Panel(
        "timeseries",
        TITLES.get(klass, klass),
        f"Highest temperature per interval of every {klass.replace('_', ' ')}, with the"
        " class's limits as bands; door openings show as short spikes.",
        (
            Target(
                'SELECT max("celsius_max") AS "max" FROM "temperature_5m" WHERE '
                + _where(klass)
                + ' AND $timeFilter GROUP BY time($__interval), "device" fill(null)',
                ("max",),
                alias="$tag_device",
            ),
        ),
        width=8,
        min_interval="5m",
        max_data_points=300,
        unit="celsius",
        decimals=1,
        thresholds=(*steps, *upper),
        custom={"thresholdsStyle": {"mode": "area"}, "fillOpacity": 0},
    )


def _out_of_range(klass: str, low: float | None, high: float | None) -> str:
    outside = " OR ".join(
        test
        for test in (
            f'"m" > {high}' if high is not None else "",
            f'"m" < {low}' if low is not None else "",
        )
        if test
    )
    inner = (
        'SELECT max("celsius") AS "m" FROM "temperature" WHERE '
        + _where(klass)
        + ' AND $timeFilter GROUP BY time(1m), "device"'
    )
    return f'SELECT count("m") AS "minutes" FROM ({inner}) WHERE {outside} GROUP BY "device"'


def _out_of_range_panel(limits: Limits) -> Panel:
    return Panel(
        "bargauge",
        "今日超限分钟 / Minutes out of range today",
        "Minutes today in which a fridge's temperature was outside its class's limits.",
        tuple(
            Target(_out_of_range(k, *limits[k]), ("minutes",), alias="$tag_device", table=False)
            for k in _classes(limits)
        ),
        width=12,
        unit="m",
        decimals=0,
        time_from="now/d",
        thresholds=(Step("green"), Step("orange", 1), Step("red", 15)),
        options={"displayMode": "lcd", "orientation": "horizontal"},
    )


def _classes(limits: Limits) -> list[str]:
    """The classes that have a limit, the known ones first."""
    known = [k for k in TITLES if k in limits]
    return [*known, *sorted(set(limits) - set(known))]


NOW = Panel(
    "table",
    "当前温度 / Temperatures now",
    "Every cold-chain device's last reading in the past hour.",
    (
        Target(
            'SELECT last("celsius") AS "celsius", last("humidity") AS "humidity" FROM'
            ' "temperature" WHERE ' + PLACE_FILTER + ' AND "class" =~ /.+/ AND $timeFilter'
            ' GROUP BY "class", "device"',
            ("celsius",),
            table=True,
        ),
    ),
    width=12,
    time_from="1h",
    overrides=(
        Override("celsius", {"unit": "celsius", "decimals": 1, "displayName": "温度 °C"}),
        Override("humidity", {"unit": "humidity", "displayName": "湿度 Humidity"}),
        Override("Time", {"unit": "dateTimeFromNow", "displayName": "上报 Reported"}),
    ),
)


def cold_chain_dashboard(limits: Limits = DEFAULT_LIMITS) -> Dashboard:
    """The dashboard drawn with ``limits`` (a class without any limit gets no panel)."""
    drawn = {k: v for k, v in limits.items() if v != (None, None)}
    return Dashboard(
        uid="campus-cold-chain",
        title="食堂冷链 / Canteen cold chain",
        description="For canteen staff and the health doctor: fridges, freezers, sample and"
        " medicine fridges.",
        panels=(
            *(_curve(k, *drawn[k]) for k in _classes(drawn)),
            _out_of_range_panel(drawn),
            NOW,
        ),
        time_from="now-24h",
        refresh="30s",
        tags=("campuswatch", "canteen"),
    )


COLD_CHAIN = cold_chain_dashboard()
