"""A local stand-in for the few Grafana HTTP API endpoints the push command uses.

No Grafana server can be installed on these machines (it is in neither Debian, PyPI nor
npm), so ``campus-ingest dashboards push`` is tested against this server. Requests and
answers follow Grafana's HTTP API documentation (Folder API, Data source API, Dashboard
API, https://grafana.com/docs/grafana/latest/developers/http_api/):

- ``GET /api/folders`` -> ``[{"id", "uid", "title"}]``;
  ``POST /api/folders`` ``{"uid", "title"}`` -> the folder (409 if the uid exists);
- ``GET /api/datasources/uid/:uid`` -> the data source, or 404 ``{"message": "Data source
  not found"}``; ``POST /api/datasources`` -> ``{"datasource", "id", "message", "name"}``;
- ``GET /api/dashboards/uid/:uid`` -> ``{"dashboard", "meta": {"folderUid", ...}}`` or 404
  ``{"message": "Dashboard not found"}``; ``POST /api/dashboards/db`` ``{"dashboard",
  "folderUid", "overwrite", "message"}`` -> ``{"id", "uid", "url", "status", "version",
  "slug"}``, the stored version growing by one on every save; without ``overwrite`` a
  stale version is refused with 412.

Every request needs ``Authorization: Bearer <token>`` (401 otherwise). Like Grafana, the
server adds fields of its own to what it stores (ids, versions, a ``pluginVersion`` on
panels), so the push must not mistake them for changes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson

from demo.services import free_port


@dataclass
class FakeGrafana:
    """The server's state and the requests it got."""

    port: int
    token: str
    folders: dict[str, dict[str, Any]] = field(default_factory=dict)
    datasources: dict[str, dict[str, Any]] = field(default_factory=dict)
    dashboards: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)

    @property
    def url(self) -> str:
        """Base URL, as a user would give it."""
        return f"http://127.0.0.1:{self.port}"

    def writes(self) -> list[tuple[str, str]]:
        """The POST requests received."""
        return [r for r in self.requests if r[0] == "POST"]

    def handle(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        """Answer one API request."""
        self.requests.append((method, path))
        if method == "GET" and path == "/api/folders":
            return 200, [
                {"id": f["id"], "uid": uid, "title": f["title"]} for uid, f in self.folders.items()
            ]
        if method == "POST" and path == "/api/folders":
            return self._create_folder(body)
        if method == "GET" and path.startswith("/api/datasources/uid/"):
            found = self.datasources.get(path.rsplit("/", 1)[1])
            return (200, found) if found else (404, {"message": "Data source not found"})
        if method == "POST" and path == "/api/datasources":
            source = {**body, "id": len(self.datasources) + 1}
            self.datasources[body["uid"]] = source
            return 200, {
                "datasource": source,
                "id": source["id"],
                "message": "Datasource added",
                "name": body["name"],
            }
        if method == "GET" and path.startswith("/api/dashboards/uid/"):
            found = self.dashboards.get(path.rsplit("/", 1)[1])
            return (200, found) if found else (404, {"message": "Dashboard not found"})
        if method == "POST" and path == "/api/dashboards/db":
            return self._save_dashboard(body)
        return 404, {"message": "Not found"}

    def _create_folder(self, body: dict[str, Any]) -> tuple[int, Any]:
        uid = body.get("uid") or f"f{len(self.folders) + 1}"
        if uid in self.folders:
            return 409, {"message": "a folder with the same uid already exists"}
        folder = {
            "id": len(self.folders) + 1,
            "uid": uid,
            "title": body["title"],
            "url": f"/dashboards/f/{uid}/",
            "version": 1,
        }
        self.folders[uid] = folder
        return 200, folder

    def _save_dashboard(self, body: dict[str, Any]) -> tuple[int, Any]:
        dashboard = dict(body["dashboard"])
        uid = dashboard["uid"]
        old = self.dashboards.get(uid)
        if (
            old
            and not body.get("overwrite")
            and dashboard.get("version") != old["dashboard"]["version"]
        ):
            return 412, {
                "message": "The dashboard has been changed by someone else",
                "status": "version-mismatch",
            }
        if body.get("folderUid") and body["folderUid"] not in self.folders:
            return 400, {"message": "folder not found"}
        version = old["dashboard"]["version"] + 1 if old else 1
        dashboard_id = old["dashboard"]["id"] if old else len(self.dashboards) + 1
        panels = [{**p, "pluginVersion": "11.3.0"} for p in dashboard.get("panels", [])]
        dashboard.update(id=dashboard_id, version=version, panels=panels, weekStart="")
        meta = {"folderUid": body.get("folderUid", ""), "version": version}
        self.dashboards[uid] = {"dashboard": dashboard, "meta": meta}
        return 200, {
            "id": dashboard_id,
            "uid": uid,
            "url": f"/d/{uid}/",
            "status": "success",
            "version": version,
            "slug": uid,
        }


@contextmanager
def fake_grafana(token: str = "glsa_test_token") -> Iterator[FakeGrafana]:
    """Run the fake Grafana in a thread."""
    state = FakeGrafana(free_port(), token)

    class Handler(BaseHTTPRequestHandler):
        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = orjson.loads(self.rfile.read(length)) if length else None
            if self.headers.get("Authorization") != f"Bearer {state.token}":
                status, answer = 401, {"message": "Unauthorized"}
            else:
                status, answer = state.handle(method, self.path.split("?")[0], body)
            payload = orjson.dumps(answer)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", state.port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
