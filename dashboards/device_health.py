"""设备健康 / Device health: gateways (uptime, buffer, drops, errors), silence, batteries."""

from __future__ import annotations

from dashboards.model import PLACE_FILTER, SITE_FILTER, Dashboard, Panel, Step, Target
from dashboards.night_patrol import SILENT_DEVICES


def _gateway_series(field: str, label: str) -> Target:
    return Target(
        f'SELECT max("{field}") AS "{field}" FROM "gateway_5m" WHERE {SITE_FILTER}'
        ' AND $timeFilter GROUP BY time($__interval), "gateway" fill(null)',
        (field,),
        alias=f"$tag_gateway {label}",
    )


UPTIME = Panel(
    "stat",
    "网关运行时间 / Gateway uptime",
    "Time since each gateway started; a gateway that stopped reporting shows no value.",
    (
        Target(
            'SELECT last("uptime_s") FROM "gateway" WHERE '
            + SITE_FILTER
            + ' AND $timeFilter GROUP BY "gateway"',
            ("last",),
            alias="$tag_gateway",
        ),
    ),
    width=24,
    height=5,
    unit="s",
    time_from="10m",
    thresholds=(Step("orange"), Step("green", 600)),
    options={"reduceOptions": {"calcs": ["lastNotNull"]}, "colorMode": "background"},
)

BUFFER = Panel(
    "timeseries",
    "网关缓存 / Gateway buffer depth",
    "Readings waiting in each gateway's store-and-forward buffer; it grows while the uplink"
    " is down and drains when it is back.",
    (_gateway_series("buffer_depth", "buffer"),),
    min_interval="5m",
    max_data_points=300,
    unit="short",
)

DROPS = Panel(
    "timeseries",
    "丢弃与错误 / Drops and errors",
    "Readings dropped because a gateway's buffer was full (routine ones first), publish"
    " errors and device read errors, as counted by each gateway since its buffer exists.",
    (
        _gateway_series("buffer_dropped", "dropped"),
        _gateway_series("publish_errors", "publish errors"),
        _gateway_series("read_errors", "read errors"),
    ),
    min_interval="5m",
    max_data_points=300,
    unit="short",
    thresholds=(Step("green"), Step("red", 1)),
)

UNAVAILABLE = Panel(
    "timeseries",
    "不可用设备 / Devices not answering",
    "Devices each gateway cannot read right now (a dead meter, an offline Zigbee sensor).",
    (_gateway_series("devices_unavailable", "devices"),),
    min_interval="5m",
    max_data_points=300,
    unit="short",
    decimals=0,
)

CPU_TEMPERATURE = Panel(
    "timeseries",
    "网关 CPU 温度 / Gateway CPU temperature",
    "A Raspberry Pi throttles above 80 °C: give it air or a heat sink.",
    (_gateway_series("cpu_temp_c", "CPU"),),
    min_interval="5m",
    max_data_points=300,
    unit="celsius",
    thresholds=(Step("green"), Step("orange", 70), Step("red", 80)),
    custom={"thresholdsStyle": {"mode": "line"}},
)

BATTERIES = Panel(
    "bargauge",
    "电池电量 / Batteries",
    "Last battery level of every battery-powered sensor in the past day, lowest first.",
    (
        Target(
            'SELECT last("battery") FROM "door", "smoke", "leak", "panic", "motion", "temperature"'
            " WHERE " + PLACE_FILTER + ' AND $timeFilter GROUP BY "device"',
            ("last",),
            alias="$tag_device",
        ),
    ),
    unit="percent",
    min=0,
    max=100,
    time_from="24h",
    thresholds=(Step("red"), Step("orange", 20), Step("green", 40)),
    options={
        "displayMode": "basic",
        "orientation": "horizontal",
        "reduceOptions": {"calcs": ["lastNotNull"]},
    },
)

DEVICE_HEALTH = Dashboard(
    uid="campus-device-health",
    title="设备健康 / Device health",
    description="For whoever looks after the gateways and sensors.",
    panels=(UPTIME, BUFFER, DROPS, UNAVAILABLE, CPU_TEMPERATURE, BATTERIES, SILENT_DEVICES),
    time_from="now-24h",
    refresh="1m",
    tags=("campuswatch", "health"),
)
