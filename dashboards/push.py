"""``campus-ingest dashboards push``: the campus dashboards into a running Grafana.

Uses grafana-client (the maintained successor of grafana-api). Creates the folder and
the InfluxDB data source when they are missing and uploads every dashboard; a dashboard
whose content and folder already match is left alone, so running it twice changes
nothing. Returns what it changed, one line each.
"""

from __future__ import annotations

import logging
from typing import Any

from grafana_client.api import GrafanaApi
from grafana_client.client import GrafanaClientError, GrafanaException
from niquests.exceptions import RequestException

from campuswatch.errors import CampuswatchError
from dashboards.model import DATASOURCE_UID, FOLDER, Json

log = logging.getLogger(__name__)

FOLDER_UID = "campuswatch"
_VOLATILE = ("id", "version")  # set by Grafana on every save


class GrafanaError(CampuswatchError):
    """Grafana could not be reached or refused a request."""


def contains(stored: Any, ours: Any) -> bool:
    """True when ``stored`` holds everything of ``ours`` (Grafana adds defaults on save)."""
    if isinstance(ours, dict):
        return isinstance(stored, dict) and all(
            key in stored and contains(stored[key], value) for key, value in ours.items()
        )
    if isinstance(ours, list):
        return (
            isinstance(stored, list)
            and len(stored) == len(ours)
            and all(contains(s, o) for s, o in zip(stored, ours, strict=True))
        )
    return bool(stored == ours)


def _same(stored: Json, ours: Json) -> bool:
    """``stored`` already is ``ours``, apart from what Grafana manages or adds itself."""
    return contains(stored, {k: v for k, v in ours.items() if k not in _VOLATILE})


class DashboardPusher:
    """Pushes dashboards, their folder and their data source to one Grafana."""

    def __init__(
        self, url: str, token: str, influx_url: str, database: str, timeout_s: float = 10.0
    ) -> None:
        self.url = url
        self.api = GrafanaApi.from_url(url, credential=token, timeout=timeout_s)
        self.influx_url = influx_url
        self.database = database

    def push(self, dashboards: list[Json], folder: str = FOLDER) -> list[str]:
        """Make Grafana hold ``dashboards`` in ``folder``; return the changes made."""
        try:
            changes = []
            folder_uid, created = self._folder(folder)
            if created:
                changes.append(f"created folder {folder!r}")
            if self._datasource():
                changes.append(f"created data source {DATASOURCE_UID} ({self.influx_url})")
            for dashboard in dashboards:
                change = self._dashboard(dashboard, folder_uid)
                if change:
                    changes.append(f"{change} dashboard {dashboard['title']!r}")
            return changes
        except GrafanaException as exc:
            status = f" (HTTP {exc.status_code})" if exc.status_code else ""
            raise GrafanaError(f"Grafana at {self.url}{status}: {exc.message}") from exc
        except RequestException as exc:  # connection refused, DNS, TLS
            raise GrafanaError(f"Grafana at {self.url} cannot be reached: {exc}") from exc

    def _folder(self, title: str) -> tuple[str, bool]:
        """The uid of the folder titled ``title``, created if missing."""
        for existing in self.api.folder.get_all_folders():
            if existing["title"] == title:
                return str(existing["uid"]), False
        created = self.api.folder.create_folder(title, uid=FOLDER_UID)
        return str(created["uid"]), True

    def _datasource(self) -> bool:
        """Create the InfluxDB (InfluxQL) data source when missing; True if created."""
        try:
            self.api.datasource.get_datasource_by_uid(DATASOURCE_UID)
            return False
        except GrafanaClientError as exc:
            if exc.status_code != 404:
                raise
        self.api.datasource.create_datasource(
            {
                "name": "campuswatch InfluxDB",
                "uid": DATASOURCE_UID,
                "type": "influxdb",
                "access": "proxy",
                "url": self.influx_url,
                "isDefault": False,
                "jsonData": {"version": "InfluxQL", "dbName": self.database, "httpMode": "POST"},
            }
        )
        return True

    def _dashboard(self, dashboard: Json, folder_uid: str) -> str | None:
        """Upload one dashboard unless Grafana has it already; say what was done."""
        stored: dict[str, Any] | None
        try:
            stored = self.api.dashboard.get_dashboard(dashboard["uid"])
        except GrafanaClientError as exc:
            if exc.status_code != 404:
                raise
            stored = None
        if stored is not None:
            same_place = stored.get("meta", {}).get("folderUid") == folder_uid
            if same_place and _same(stored["dashboard"], dashboard):
                return None
        self.api.dashboard.update_dashboard(
            {
                "dashboard": {**dashboard, "id": None},
                "folderUid": folder_uid,
                "overwrite": True,
                "message": "campus-ingest dashboards push",
            }
        )
        return "updated" if stored is not None else "created"
