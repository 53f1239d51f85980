"""食堂冷链 / Canteen cold chain: every fridge against its class's limits.

Limits follow the defaults of the food-safety guidance the reports use: refrigerators
and the 48-hour sample fridge 0-8 °C, freezers at or below -18 °C.
"""

from __future__ import annotations

from dashboards.model import PLACE_FILTER, Dashboard, Override, Panel, Step, Target

CLASSES = {
    "refrigerator": ("冷藏柜 / Refrigerators", 0.0, 8.0),
    "sample_fridge": ("留样柜 / Sample fridges (48 h samples)", 0.0, 8.0),
    "freezer": ("冷冻柜 / Freezers", None, -18.0),
}


def _where(klass: str) -> str:
    return f"{PLACE_FILTER} AND \"class\" = '{klass}'"


def _curve(klass: str) -> Panel:
    title, low, high = CLASSES[klass]
    # Bands: red below the lower limit, green inside, red above the upper limit.
    steps = (Step("red"), Step("green", low)) if low is not None else (Step("green"),)
    return Panel(
        "timeseries",
        f"{title}",
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
        thresholds=(*steps, Step("red", high)),
        custom={"thresholdsStyle": {"mode": "area"}, "fillOpacity": 0},
    )


def _out_of_range(klass: str) -> str:
    _title, low, high = CLASSES[klass]
    outside = f'"m" > {high}' + (f' OR "m" < {low}' if low is not None else "")
    inner = (
        'SELECT max("celsius") AS "m" FROM "temperature" WHERE '
        + _where(klass)
        + ' AND $timeFilter GROUP BY time(1m), "device"'
    )
    return f'SELECT count("m") AS "minutes" FROM ({inner}) WHERE {outside} GROUP BY "device"'


OUT_OF_RANGE = Panel(
    "bargauge",
    "今日超限分钟 / Minutes out of range today",
    "Minutes today in which a fridge's temperature was outside its class's limits.",
    tuple(
        Target(_out_of_range(k), ("minutes",), alias="$tag_device", table=False) for k in CLASSES
    ),
    width=12,
    unit="m",
    decimals=0,
    time_from="now/d",
    thresholds=(Step("green"), Step("orange", 1), Step("red", 15)),
    options={"displayMode": "lcd", "orientation": "horizontal"},
)

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

COLD_CHAIN = Dashboard(
    uid="campus-cold-chain",
    title="食堂冷链 / Canteen cold chain",
    description="For canteen staff and the health doctor: fridges, freezers, sample fridges.",
    panels=(*(_curve(k) for k in CLASSES), OUT_OF_RANGE, NOW),
    time_from="now-24h",
    refresh="30s",
    tags=("campuswatch", "canteen"),
)
