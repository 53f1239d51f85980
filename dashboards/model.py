"""Typed building blocks for Grafana dashboards, rendered to Grafana's dashboard JSON.

Only what the campus dashboards use is modelled: InfluxQL targets (raw queries, so they
run on InfluxDB 1.x, 2.x compatibility and 3.x alike), panels with units, thresholds and
value mappings, template variables and annotations. Each target also says which columns
it must return; the tests run every query against a real influxd and check them.

Panels over time ranges read the service's rollups (``<kind>_5m``, ``<kind>_1h``, see
``ingest/storage/rollups.py``) with a matching minimum interval; "now" panels read the
raw readings of the last hour.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

DATASOURCE_UID = "campuswatch-influxdb"
DATASOURCE = {"type": "influxdb", "uid": DATASOURCE_UID}
SCHEMA_VERSION = 39
GRID_WIDTH = 24

PanelType = Literal["table", "state-timeline", "stat", "timeseries", "barchart", "bargauge"]
Json = dict[str, Any]

SITE_FILTER = '"site" =~ /^$site$/'
PLACE_FILTER = '"site" =~ /^$site$/ AND "building" =~ /^$building$/'


@dataclass(frozen=True)
class Target:
    """One InfluxQL query of a panel and the columns its result must have."""

    query: str
    columns: tuple[str, ...]
    alias: str = ""
    table: bool = False

    def render(self, ref_id: str) -> Json:
        """The target as Grafana stores it."""
        out: Json = {
            "refId": ref_id,
            "datasource": DATASOURCE,
            "query": self.query,
            "rawQuery": True,
            "resultFormat": "table" if self.table else "time_series",
        }
        if self.alias:
            out["alias"] = self.alias
        return out


@dataclass(frozen=True)
class Step:
    """A threshold step: from ``value`` (None = minus infinity) on, ``color``."""

    color: str
    value: float | None = None


def value_map(texts: dict[str, tuple[str, str]]) -> list[Json]:
    """Value mappings ``{"0": ("关 closed", "green")}``: raw value as text -> text, colour."""
    options = {
        raw: {"text": text, "color": color, "index": i}
        for i, (raw, (text, color)) in enumerate(texts.items())
    }
    return [{"type": "value", "options": options}]


OPEN_CLOSED = value_map({"0": ("关 closed", "green"), "1": ("开 open", "red")})
LOCKED = value_map({"1": ("已锁 locked", "green"), "0": ("未锁 unlocked", "orange")})
ALARM = value_map({"0": ("正常 ok", "green"), "1": ("报警 alarm", "red")})
YES_NO_BAD = value_map({"0": ("否 no", "green"), "1": ("是 yes", "red")})
# Grafana's folder for the dashboards (file provisioning and `dashboards push`).
FOLDER = "campuswatch 校园监控"


@dataclass(frozen=True)
class Override:
    """Field settings for the fields (columns) named ``name``."""

    name: str
    properties: dict[str, Any]

    def render(self) -> Json:
        """The override as Grafana stores it."""
        return {
            "matcher": {"id": "byName", "options": self.name},
            "properties": [{"id": k, "value": v} for k, v in self.properties.items()],
        }


@dataclass(frozen=True)
class Panel:
    """A dashboard panel; ``width`` x ``height`` in grid units, placed by the dashboard."""

    type: PanelType
    title: str
    description: str
    targets: tuple[Target, ...]
    width: int = 12
    height: int = 8
    unit: str | None = None
    decimals: int | None = None
    thresholds: tuple[Step, ...] = ()
    mappings: list[Json] = field(default_factory=list)
    overrides: tuple[Override, ...] = ()
    options: Json = field(default_factory=dict)
    custom: Json = field(default_factory=dict)
    transformations: tuple[Json, ...] = ()
    min: float | None = None
    max: float | None = None
    # A relative time of its own ("1h", "now/d"): "now" panels need not scan the range.
    time_from: str | None = None
    # The shortest $__interval: the bucket size of the rollup the panel reads ("5m", "1h").
    min_interval: str | None = None
    # Points per series (Grafana's default is the panel's width in pixels): many series
    # over weeks would otherwise return hundreds of thousands of points for one screen.
    max_data_points: int | None = None

    def render(self, panel_id: int, x: int, y: int) -> Json:
        """The panel as Grafana stores it."""
        defaults: Json = {"mappings": self.mappings, "custom": self.custom}
        if self.unit:
            defaults["unit"] = self.unit
        if self.decimals is not None:
            defaults["decimals"] = self.decimals
        if self.min is not None:
            defaults["min"] = self.min
        if self.max is not None:
            defaults["max"] = self.max
        if self.thresholds:
            defaults["thresholds"] = {
                "mode": "absolute",
                "steps": [{"color": s.color, "value": s.value} for s in self.thresholds],
            }
        out: Json = {
            "id": panel_id,
            "type": self.type,
            "title": self.title,
            "description": self.description,
            "datasource": DATASOURCE,
            "gridPos": {"x": x, "y": y, "w": self.width, "h": self.height},
            "targets": [t.render(chr(ord("A") + i)) for i, t in enumerate(self.targets)],
            "fieldConfig": {
                "defaults": defaults,
                "overrides": [o.render() for o in self.overrides],
            },
            "options": self.options,
            "transformations": list(self.transformations),
        }
        if self.time_from:
            out["timeFrom"] = self.time_from
        if self.min_interval:
            out["interval"] = self.min_interval
        if self.max_data_points:
            out["maxDataPoints"] = self.max_data_points
        return out


@dataclass(frozen=True)
class Variable:
    """A template variable: a tag-values query, or a constant such as the timezone."""

    name: str
    label: str
    query: str = ""
    constant: str = ""
    multi: bool = True

    def render(self) -> Json:
        """The variable as Grafana stores it."""
        if self.constant:
            return {
                "name": self.name,
                "label": self.label,
                "type": "constant",
                "query": self.constant,
                "hide": 2,
            }
        return {
            "name": self.name,
            "label": self.label,
            "type": "query",
            "datasource": DATASOURCE,
            "query": self.query,
            "definition": self.query,
            "refresh": 1,
            "multi": self.multi,
            "includeAll": True,
            "allValue": ".*",
            "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
            "sort": 1,
        }


SITE = Variable("site", "园区 Site", 'SHOW TAG VALUES WITH KEY = "site"')
BUILDING = Variable(
    "building", "楼栋 Building", 'SHOW TAG VALUES WITH KEY = "building" WHERE "site" =~ /^$site$/'
)
TIMEZONE = Variable("tz", "时区 Timezone", constant="Asia/Shanghai")
# Where the patrol console is (the service's api.public_url): alerts link to their page.
CONSOLE = Variable("console", "值班台 Console", constant="http://127.0.0.1:8000")


def with_constants(dashboard: Json, values: dict[str, str]) -> Json:
    """The dashboard with its constant variables (``tz``, ``console``) set to ``values``."""
    for variable in dashboard["templating"]["list"]:
        if variable.get("type") == "constant" and variable["name"] in values:
            variable["query"] = values[variable["name"]]
    return dashboard


ALERT_ANNOTATION: Json = {
    "name": "告警 Alerts",
    "datasource": DATASOURCE,
    "enable": True,
    "iconColor": "red",
    # Legacy InfluxDB annotation fields, which Grafana still reads for InfluxQL.
    "query": 'SELECT "title", "message", "state", "severity" FROM "alert_event"'
    " WHERE " + SITE_FILTER + " AND $timeFilter",
    "titleColumn": "title",
    "textColumn": "message",
    "tagsColumn": "state,severity",
}


@dataclass(frozen=True)
class Dashboard:
    """A dashboard: panels laid out left to right, top to bottom, in rows of 24 units."""

    uid: str
    title: str
    description: str
    panels: tuple[Panel, ...]
    variables: tuple[Variable, ...] = (SITE, BUILDING, TIMEZONE)
    time_from: str = "now-24h"
    refresh: str = "1m"
    tags: tuple[str, ...] = ("campuswatch",)
    version: int = 1

    def render(self) -> Json:
        """The dashboard JSON, ready for file provisioning or the HTTP API."""
        return {
            "uid": self.uid,
            "title": self.title,
            "description": self.description,
            "tags": list(self.tags),
            "timezone": "browser",
            "editable": True,
            "graphTooltip": 1,
            "schemaVersion": SCHEMA_VERSION,
            "version": self.version,
            "refresh": self.refresh,
            "time": {"from": self.time_from, "to": "now"},
            "templating": {"list": [v.render() for v in self.variables]},
            "annotations": {"list": [ALERT_ANNOTATION]},
            "panels": self._layout(),
        }

    def _layout(self) -> list[Json]:
        rendered, x, y, row_height = [], 0, 0, 0
        for panel_id, panel in enumerate(self.panels, 1):
            if x + panel.width > GRID_WIDTH:
                x, y, row_height = 0, y + row_height, 0
            rendered.append(panel.render(panel_id, x, y))
            x += panel.width
            row_height = max(row_height, panel.height)
        return rendered
