"""夜间巡逻 / Night patrol: doors, smoke, leaks, panic buttons, motion, alerts, the gate
camera, gateways, silence."""

from __future__ import annotations

from dashboards.model import (
    ALARM,
    BUILDING,
    CONSOLE,
    LOCKED,
    OPEN_CLOSED,
    PLACE_FILTER,
    SITE,
    SITE_FILTER,
    TIMEZONE,
    YES_NO_BAD,
    Dashboard,
    Override,
    Panel,
    Step,
    Target,
)

COLOR_CELL = {"custom.cellOptions": {"type": "color-background"}}
SINCE = {"unit": "dateTimeFromNow"}

DOORS_NOW = Panel(
    "table",
    "门的状态（现在） / Doors now",
    "Every door's last report in the past hour, by building: open or closed, locked or not.",
    (
        Target(
            'SELECT last("open") AS "open", last("locked") AS "locked", last("battery")'
            ' AS "battery" FROM "door" WHERE ' + PLACE_FILTER + " AND $timeFilter"
            ' GROUP BY "building", "room", "device"',
            ("open", "locked"),
            table=True,
        ),
    ),
    width=10,
    height=10,
    time_from="1h",
    overrides=(
        Override("open", {"mappings": OPEN_CLOSED, "displayName": "门 Door", **COLOR_CELL}),
        Override("locked", {"mappings": LOCKED, "displayName": "锁 Lock", **COLOR_CELL}),
        Override("battery", {"unit": "percent", "displayName": "电量 Battery"}),
        Override("Time", {"displayName": "上报 Reported", **SINCE}),
    ),
    options={"sortBy": [{"displayName": "门 Door", "desc": True}]},
)

DOORS_TONIGHT = Panel(
    "state-timeline",
    "今晚门的状态 / Doors tonight",
    "Open (red) and closed (green) over the dashboard's time range, one row per door.",
    (
        Target(
            'SELECT max("open") FROM "door_5m" WHERE ' + PLACE_FILTER + " AND $timeFilter"
            ' GROUP BY time($__interval), "device" fill(previous)',
            ("max",),
            alias="$tag_device",
        ),
    ),
    width=14,
    height=10,
    min_interval="5m",
    max_data_points=200,
    mappings=OPEN_CLOSED,
    options={"showValue": "never", "mergeValues": True, "rowHeight": 0.8},
)

SMOKE = Panel(
    "table",
    "烟感 / Smoke detectors",
    "Every smoke detector's last report in the past hour: alarm, low battery, tamper.",
    (
        Target(
            'SELECT last("smoke") AS "smoke", last("battery_low") AS "battery_low" FROM "smoke"'
            " WHERE " + PLACE_FILTER + ' AND $timeFilter GROUP BY "building", "room", "device"',
            ("smoke", "battery_low"),
            table=True,
        ),
    ),
    width=8,
    time_from="1h",
    overrides=(
        Override("smoke", {"mappings": ALARM, "displayName": "烟雾 Smoke", **COLOR_CELL}),
        Override("battery_low", {"mappings": YES_NO_BAD, "displayName": "低电量 Battery low"}),
        Override("Time", {"displayName": "上报 Reported", **SINCE}),
    ),
)

SAFETY = Panel(
    "table",
    "漏水、一键报警、人体感应 / Leaks, panic buttons, motion",
    "Every water sensor, panic button and motion sensor's last report in the past hour.",
    tuple(
        Target(
            f'SELECT last("{field}") AS "{field}" FROM "{kind}" WHERE '
            + PLACE_FILTER
            + ' AND $timeFilter GROUP BY "building", "room", "device"',
            (field,),
            table=True,
        )
        for kind, field in (("leak", "leak"), ("panic", "pressed"), ("motion", "motion"))
    ),
    width=8,
    time_from="1h",
    transformations=({"id": "merge", "options": {}},),
    overrides=(
        Override("leak", {"mappings": ALARM, "displayName": "漏水 Leak", **COLOR_CELL}),
        Override("pressed", {"mappings": ALARM, "displayName": "报警 Panic", **COLOR_CELL}),
        Override("motion", {"mappings": YES_NO_BAD, "displayName": "有人 Motion"}),
        Override("Time", {"displayName": "上报 Reported", **SINCE}),
    ),
)

ACTIVE_ALERTS = Panel(
    "table",
    "未恢复的告警 / Active alerts",
    "Alerts whose last lifecycle event (past 30 days) is not 'resolved'. Tap a title to open"
    " the alert in the patrol console and acknowledge it there.",
    (
        Target(
            'SELECT last("active") AS "active", last("title") AS "title", last("message")'
            ' AS "message", last("alert_id") AS "alert_id" FROM "alert_event" WHERE '
            + SITE_FILTER
            + ' AND $timeFilter GROUP BY "rule", "device", "severity"',
            ("active", "title", "message", "alert_id"),
            table=True,
        ),
    ),
    width=16,
    time_from="30d",
    transformations=(
        {
            "id": "filterByValue",
            "options": {
                "type": "include",
                "match": "all",
                "filters": [
                    {"fieldName": "active", "config": {"id": "equal", "options": {"value": 1}}}
                ],
            },
        },
        {"id": "organize", "options": {"excludeByName": {"active": True, "alert_id": True}}},
    ),
    overrides=(
        Override(
            "title",
            {
                "displayName": "告警 Alert",
                "links": [
                    {
                        "title": "在值班台打开 Open in the patrol console",
                        "url": "${console}/alerts/${__data.fields.alert_id}",
                    }
                ],
            },
        ),
        Override(
            "severity",
            {
                "displayName": "级别 Severity",
                **COLOR_CELL,
                "mappings": [
                    {
                        "type": "value",
                        "options": {
                            "critical": {"text": "紧急 critical", "color": "red", "index": 0},
                            "warning": {"text": "警告 warning", "color": "orange", "index": 1},
                            "info": {"text": "提示 info", "color": "blue", "index": 2},
                        },
                    }
                ],
            },
        ),
        Override("Time", {"displayName": "最后变化 Last change", **SINCE}),
    ),
)

ALERT_EVENTS = Panel(
    "table",
    "今晚的告警事件 / Alert events tonight",
    "Every alert lifecycle step (firing, repeat, escalated, acknowledged, resolved) in the"
    " time range, newest first.",
    (
        Target(
            'SELECT "state", "severity", "device", "title", "message" FROM "alert_event"'
            " WHERE " + SITE_FILTER + " AND $timeFilter ORDER BY time DESC LIMIT 200",
            ("state", "device", "title", "message"),
            table=True,
        ),
    ),
    width=24,
    height=9,
    overrides=(Override("Time", {"displayName": "时间 Time", "unit": "dateTimeAsLocal"}),),
)

GATE_CAMERA = Panel(
    "timeseries",
    "大门摄像头 / Gate camera",
    "Persons seen and motion at the gate cameras; a bar after hours means someone is there.",
    (
        Target(
            'SELECT max("persons") AS "persons" FROM "camera_5m" WHERE '
            + PLACE_FILTER
            + ' AND $timeFilter GROUP BY time($__interval), "device" fill(0)',
            ("persons",),
            alias="$tag_device 人数 persons",
        ),
        Target(
            'SELECT max("motion") AS "motion" FROM "camera_5m" WHERE '
            + PLACE_FILTER
            + ' AND $timeFilter GROUP BY time($__interval), "device" fill(0)',
            ("motion",),
            alias="$tag_device 移动 motion",
        ),
    ),
    width=12,
    decimals=0,
    min=0,
    min_interval="5m",
    max_data_points=300,
    custom={"drawStyle": "bars", "fillOpacity": 60},
)

GATEWAYS = Panel(
    "table",
    "网关 / Gateways",
    "Each gateway's last health report: more than 2 minutes ago means it is offline.",
    (
        Target(
            'SELECT last("uptime_s") AS "uptime", last("buffer_depth") AS "buffer" FROM'
            ' "gateway" WHERE ' + SITE_FILTER + ' AND $timeFilter GROUP BY "gateway"',
            ("uptime", "buffer"),
            table=True,
        ),
    ),
    width=12,
    time_from="24h",
    overrides=(
        Override("uptime", {"unit": "s", "displayName": "运行 Uptime"}),
        Override("buffer", {"displayName": "待发 Buffered", "unit": "short"}),
        Override("Time", {"displayName": "上报 Reported", **SINCE}),
    ),
)

# The last report of every device, oldest first: a silent device rises to the top.
LAST_REPORT_TARGETS = tuple(
    Target(
        f'SELECT last("{field}") AS "value" FROM "{kind}" WHERE '
        + PLACE_FILTER
        + ' AND $timeFilter GROUP BY "device"',
        ("value",),
        table=True,
    )
    for kind, field in (
        ("door", "open"),
        ("door", "locked"),
        ("smoke", "smoke"),
        ("leak", "leak"),
        ("panic", "pressed"),
        ("motion", "motion"),
        ("temperature", "celsius"),
        ("electricity", "energy_kwh"),
        ("water", "volume_m3"),
        ("camera", "motion"),
    )
)

SILENT_DEVICES = Panel(
    "table",
    "设备最后上报 / Last report per device",
    "Every device's last reading in the past day, oldest first; a device silent for longer"
    " than three report intervals also raises a 'sensor-silent' alert.",
    LAST_REPORT_TARGETS,
    width=12,
    time_from="24h",
    transformations=(
        {"id": "merge", "options": {}},
        {"id": "organize", "options": {"excludeByName": {"value": True}}},
        {"id": "sortBy", "options": {"sort": [{"field": "Time", "desc": False}]}},
    ),
    overrides=(Override("Time", {"displayName": "最后上报 Last report", **SINCE}),),
    thresholds=(Step("green"),),
)

NIGHT_PATROL = Dashboard(
    uid="campus-night-patrol",
    title="夜间巡逻 / Night patrol",
    description="For the duty room at night: doors, smoke, alerts, the gate camera, gateways.",
    panels=(
        DOORS_NOW,
        DOORS_TONIGHT,
        SMOKE,
        SAFETY,
        ACTIVE_ALERTS,
        ALERT_EVENTS,
        GATE_CAMERA,
        GATEWAYS,
        SILENT_DEVICES,
    ),
    variables=(SITE, BUILDING, TIMEZONE, CONSOLE),
    time_from="now-12h",
    refresh="10s",
    tags=("campuswatch", "patrol"),
)
