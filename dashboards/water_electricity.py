"""水电 / Water & electricity: daily and weekly use per meter and building, base load, power.

Use is the non-negative difference of the cumulative counters' daily last values (a
meter reset or replacement never counts as negative use), in days of the site timezone.
"""

from __future__ import annotations

from dashboards.model import PLACE_FILTER, Dashboard, Panel, Step, Target

DAY = "GROUP BY time(1d), \"device\" tz('$tz')"


def _daily_use(measurement: str, counter: str) -> str:
    return (
        f'SELECT non_negative_difference(last("{counter}")) AS "use" FROM "{measurement}_1h"'
        f" WHERE {PLACE_FILTER} AND $timeFilter {DAY}"
    )


def _building_use(measurement: str, counter: str) -> str:
    inner = (
        f'SELECT non_negative_difference(last("{counter}")) AS "use" FROM "{measurement}_1h"'
        f" WHERE {PLACE_FILTER} AND $timeFilter"
        ' GROUP BY time(1d), "device", "building" tz(\'$tz\')'
    )
    return (
        f'SELECT sum("use") AS "use" FROM ({inner}) WHERE $timeFilter'
        " GROUP BY time(1d), \"building\" tz('$tz')"
    )


def _week_vs_week(measurement: str, counter: str) -> tuple[Target, Target]:
    """Use in the last 7 days and in the 7 days before, per meter."""

    def use(start: str, end: str, label: str) -> Target:
        return Target(
            f'SELECT max("{counter}") - min("{counter}") AS "use" FROM "{measurement}_1h"'
            f" WHERE {PLACE_FILTER} AND time >= {start} AND time < {end}"
            ' GROUP BY "device"',
            ("use",),
            alias=f"$tag_device {label}",
        )

    return (
        use("now() - 7d", "now()", "近 7 天 last 7 days"),
        use("now() - 14d", "now() - 7d", "前 7 天 7 days before"),
    )


DAILY_ELECTRICITY = Panel(
    "barchart",
    "每日用电 / Daily electricity per meter",
    "kWh used each day (site timezone) per meter: the daily increase of its energy counter.",
    (Target(_daily_use("electricity", "energy_kwh"), ("use",), alias="$tag_device"),),
    unit="kwatth",
    decimals=1,
    options={"xTickLabelRotation": -45, "stacking": "none", "legend": {"showLegend": True}},
)

BUILDING_ELECTRICITY = Panel(
    "barchart",
    "各楼栋每日用电 / Daily electricity per building",
    "kWh used each day, summed over the meters of each building.",
    (Target(_building_use("electricity", "energy_kwh"), ("use",), alias="$tag_building"),),
    unit="kwatth",
    decimals=1,
    options={"stacking": "normal", "xTickLabelRotation": -45},
)

WEEK_ELECTRICITY = Panel(
    "bargauge",
    "本周与上周用电 / Electricity this week vs last",
    "kWh in the last 7 days beside the 7 days before, per meter (the weekly feedback).",
    _week_vs_week("electricity", "energy_kwh"),
    unit="kwatth",
    decimals=0,
    options={"displayMode": "gradient", "orientation": "horizontal"},
    thresholds=(Step("green"),),
)

NIGHT_BASE_LOAD = Panel(
    "timeseries",
    "夜间基础负荷 / Night base load",
    "The lowest hourly mean power of each day: what stays on at night (lights, computers,"
    " water heaters). A rise means something is left on.",
    (
        Target(
            # power_w of the hourly rollup is the hour's mean power.
            'SELECT min("power_w") AS "base" FROM "electricity_1h" WHERE '
            + PLACE_FILTER
            + " AND $timeFilter GROUP BY time(1d), \"device\" tz('$tz')",
            ("base",),
            alias="$tag_device",
        ),
    ),
    unit="watt",
    custom={"drawStyle": "line", "pointSize": 6, "showPoints": "always"},
)

WEEK_BUILDINGS = Panel(
    "bargauge",
    "本周各楼栋用电 / Electricity per building, last 7 days",
    "kWh of the last 7 days, summed over the meters of each building.",
    (
        Target(
            'SELECT sum("use") AS "use" FROM (SELECT max("energy_kwh") - min("energy_kwh") AS'
            f' "use" FROM "electricity_1h" WHERE {PLACE_FILTER} AND time >= now() - 7d'
            ' GROUP BY "device", "building") GROUP BY "building"',
            ("use",),
            alias="$tag_building",
        ),
    ),
    unit="kwatth",
    decimals=0,
    options={"displayMode": "gradient", "orientation": "horizontal"},
    thresholds=(Step("green"),),
)

POWER_LATEST = Panel(
    "stat",
    "功率（现在） / Power now",
    "Each meter's last reported power (past hour).",
    (
        Target(
            'SELECT last("power_w") FROM "electricity" WHERE '
            + PLACE_FILTER
            + ' AND $timeFilter GROUP BY "device"',
            ("last",),
            alias="$tag_device",
        ),
    ),
    width=24,
    height=5,
    unit="watt",
    time_from="1h",
    thresholds=(Step("green"),),
    options={"reduceOptions": {"calcs": ["lastNotNull"]}, "colorMode": "value"},
)

POWER = Panel(
    "timeseries",
    "功率 / Power",
    "Mean power per meter.",
    (
        Target(
            'SELECT mean("power_w") FROM "electricity_1h" WHERE '
            + PLACE_FILTER
            + ' AND $timeFilter GROUP BY time($__interval), "device" fill(null)',
            ("mean",),
            alias="$tag_device",
        ),
    ),
    unit="watt",
    min_interval="1h",
    max_data_points=300,
)

DAILY_WATER = Panel(
    "barchart",
    "每日用水 / Daily water per meter",
    "m³ used each day (site timezone) per water meter.",
    (Target(_daily_use("water", "volume_m3"), ("use",), alias="$tag_device"),),
    unit="m3",
    decimals=2,
    options={"xTickLabelRotation": -45},
)

WEEK_WATER = Panel(
    "bargauge",
    "本周与上周用水 / Water this week vs last",
    "m³ in the last 7 days beside the 7 days before, per water meter.",
    _week_vs_week("water", "volume_m3"),
    unit="m3",
    decimals=1,
    options={"displayMode": "gradient", "orientation": "horizontal"},
    thresholds=(Step("blue"),),
)

LEAK = Panel(
    "timeseries",
    "最低流量 / Lowest flow per day",
    "The lowest flow of each day. Flow that never drops to zero for a whole day suggests a"
    " leak (or a tap left running).",
    (
        Target(
            'SELECT min("flow_m3h_min") AS "lowest" FROM "water_1h" WHERE '
            + PLACE_FILTER
            + " AND $timeFilter GROUP BY time(1d), \"device\" tz('$tz')",
            ("lowest",),
            alias="$tag_device",
        ),
    ),
    unit="short",
    decimals=3,
    thresholds=(Step("green"), Step("orange", 0.001)),
    custom={"drawStyle": "bars", "thresholdsStyle": {"mode": "line"}},
)

WATER_ELECTRICITY = Dashboard(
    uid="campus-water-electricity",
    title="水电 / Water & electricity",
    description="For the water and electricity technician: daily checks and weekly feedback.",
    panels=(
        POWER_LATEST,
        DAILY_ELECTRICITY,
        BUILDING_ELECTRICITY,
        WEEK_ELECTRICITY,
        WEEK_BUILDINGS,
        NIGHT_BASE_LOAD,
        POWER,
        DAILY_WATER,
        WEEK_WATER,
        LEAK,
    ),
    time_from="now-7d",
    refresh="5m",
    tags=("campuswatch", "energy"),
)
