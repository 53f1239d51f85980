"""A small client for the InfluxDB v1 HTTP API (``/ping``, ``/write``, ``/query``).

InfluxDB 1.x serves this API natively and 2.x/3.x serve it for compatibility, so the
service and the dashboards work on all of them. httpx errors and HTTP status codes are
translated here into the storage exceptions the writer acts on.
"""

from __future__ import annotations

import gzip
import logging
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from ingest.config import InfluxConfig
from ingest.errors import (
    InfluxBadRequest,
    InfluxDatabaseMissing,
    InfluxRejected,
    InfluxUnavailable,
    StorageError,
)

log = logging.getLogger(__name__)

Row = dict[str, Any]
SeriesDevice = tuple[str, str, str]  # (site, gateway, device): two campuses may share ids


@dataclass(frozen=True, slots=True)
class Series:
    """One series of a query answer: its tags, column names and rows of values."""

    tags: dict[str, str]
    columns: list[str]
    values: list[list[Any]]


def series_device(tags: dict[str, Any]) -> SeriesDevice:
    """The device a series (or a row grouped by device) belongs to."""
    return (tags.get("site") or "", tags.get("gateway") or "", tags["device"])


class InfluxClient:
    """Write line protocol to and query one database of an InfluxDB server."""

    def __init__(
        self,
        url: str,
        database: str,
        *,
        username: str | None = None,
        password: str | None = None,
        token: str | None = None,
        retention_policy: str | None = None,
        timeout_s: float = 10.0,
        gzip_level: int = 1,
    ) -> None:
        self.database = database
        self.retention_policy = retention_policy
        self.gzip_level = gzip_level
        headers = {"Authorization": f"Token {token}"} if token else {}
        auth = httpx.BasicAuth(username, password or "") if username else None
        self._http = httpx.Client(
            base_url=url.rstrip("/"), headers=headers, auth=auth, timeout=timeout_s
        )

    @classmethod
    def configured(cls, influx: InfluxConfig) -> InfluxClient:
        """The client of the server the config's ``influx:`` section names."""
        return cls(
            influx.url,
            influx.database,
            username=influx.username,
            password=influx.password,
            token=influx.token,
            retention_policy=influx.retention_policy,
            timeout_s=influx.timeout.total_seconds(),
            gzip_level=1 if influx.use_gzip else 0,
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def ping(self) -> bool:
        """True when the server answers ``/ping``."""
        try:
            return self._http.get("/ping").status_code == 204
        except httpx.HTTPError:
            return False

    def create_database(self) -> None:
        """Create the database if it does not exist (idempotent on the server).

        A user without admin rights may not: then the administrator has made it (the
        install does) and writing tells whether it is there.
        """
        try:
            self._query_raw("CREATE DATABASE " + quote_ident(self.database), write=True, db=None)
        except StorageError as exc:
            if "requires admin privilege" not in str(exc):
                raise
            log.debug("not an InfluxDB admin: database %s is the administrator's", self.database)

    def write(self, body: bytes) -> None:
        """Write line protocol (ms precision), gzip-compressed unless ``gzip_level`` is 0."""
        params = {"db": self.database, "precision": "ms"}
        if self.retention_policy:
            params["rp"] = self.retention_policy
        headers = {"Content-Type": "text/plain; charset=utf-8"}
        if self.gzip_level:
            body = gzip.compress(body, compresslevel=self.gzip_level)
            headers["Content-Encoding"] = "gzip"
        try:
            response = self._http.post("/write", params=params, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise InfluxUnavailable(f"InfluxDB write failed: {exc!r}") from exc
        if response.status_code != 204:
            raise _translate(response, "write")

    def ensure_retention(self, days: int) -> bool:
        """Keep the database's points ``days`` days (0: forever): its default retention
        policy is changed when it differs; True when it changed. Needs an admin user."""
        policies = self.query("SHOW RETENTION POLICIES")
        default = next((p for p in policies if p.get("default")), None)
        if default is None:
            raise StorageError(f"database {self.database} has no default retention policy")
        wanted = f"{days * 24}h0m0s" if days else "0s"
        if default["duration"] == wanted:
            return False
        duration = f"{days}d" if days else "INF"
        self._query_raw(
            f"ALTER RETENTION POLICY {quote_ident(default['name'])} ON"
            f" {quote_ident(self.database)} DURATION {duration}",
            write=True,
            db=self.database,
        )
        return True

    def query(self, influxql: str, params: dict[str, Any] | None = None) -> list[Row]:
        """Run one InfluxQL statement and return its rows as dicts (time in epoch ms)."""
        rows: list[Row] = []
        for one in self.series(influxql, params):
            for values in one.values:
                row = dict(zip(one.columns, values, strict=True))
                row.update(one.tags)
                rows.append(row)
        return rows

    def series(self, influxql: str, params: dict[str, Any] | None = None) -> list[Series]:
        """Run one InfluxQL statement and return its series as they come (for large answers)."""
        results = self._query_raw(influxql, write=False, db=self.database, bind=params)
        found: list[Series] = []
        for result in results:
            if "error" in result:
                raise StorageError(f"InfluxQL error: {result['error']} in {influxql!r}")
            found.extend(
                Series(s.get("tags", {}), s["columns"], s["values"])
                for s in result.get("series", [])
            )
        return found

    def _query_raw(
        self,
        influxql: str,
        *,
        write: bool,
        db: str | None,
        bind: dict[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        form: dict[str, str] = {"q": influxql, "epoch": "ms"}
        if db:
            form["db"] = db
        if bind:
            form["params"] = orjson.dumps(bind).decode()
        try:
            response = self._http.post("/query", data=form)
        except httpx.HTTPError as exc:
            raise InfluxUnavailable(f"InfluxDB query failed: {exc!r}") from exc
        if response.status_code != 200:
            raise _translate(response, "query")
        doc = orjson.loads(response.content)
        if write and doc.get("results") and "error" in doc["results"][0]:
            raise StorageError(f"InfluxDB refused {influxql!r}: {doc['results'][0]['error']}")
        results: list[dict[str, Any]] = doc.get("results", [])
        return results


def quote_ident(name: str) -> str:
    """Quote an InfluxQL identifier."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def quote_string(text: str) -> str:
    """Quote an InfluxQL string literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _error_text(response: httpx.Response) -> str:
    try:
        return str(response.json().get("error", response.text))
    except ValueError:
        return response.text.strip()[:500]


def _translate(response: httpx.Response, what: str) -> StorageError:
    """Map an HTTP error answer to the exception the caller must act on."""
    status, text = response.status_code, _error_text(response)
    message = f"InfluxDB {what} answered {status}: {text}"
    if status == 404 and "database not found" in text:
        return InfluxDatabaseMissing(message)
    if status == 400:
        return InfluxBadRequest(message)
    if status in (401, 403):
        return InfluxRejected(message + " (check influx username/password or token)")
    if status == 413:
        return InfluxBadRequest(message)
    # 5xx (including 500 "retention policy not found"), 429 and anything else: retry later.
    return InfluxUnavailable(message)
