"""The console in the service's web app: its pages, files, live feed and error pages."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from ingest.app import IngestService
from ingest.console.board import BoardState
from ingest.console.deps import BadForm, Forbidden, LoginRequired, session_principal
from ingest.console.feed import BoardFeed
from ingest.console.pages import Pages
from ingest.console.routes import acklinks, alerts, board, login, people
from ingest.console.wording import say


def install_console(app: FastAPI, service: IngestService) -> BoardFeed:
    """Add the console to ``app``; the live feed it returns runs while the app runs."""
    pages = Pages(service)
    state = BoardState(service)
    feed = BoardFeed(state, pages)
    app.state.pages, app.state.board, app.state.feed = pages, state, feed
    service.handler.listeners.append(feed.on_readings)
    service.handler.status_listeners.append(feed.on_status)
    service.engine.change_listeners.append(feed.on_alerts_changed)
    app.mount("/static", StaticFiles(packages=[("ingest.console", "static")]), name="static")
    for module in (login, board, alerts, acklinks, people):
        app.include_router(module.router)
    lang = service.config.site.language

    @app.exception_handler(LoginRequired)
    def to_login(request: Request, _exc: LoginRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(Forbidden)
    def forbidden(request: Request, _exc: Forbidden) -> HTMLResponse:
        principal = session_principal(request, service)
        text = say("forbidden", lang)
        return pages.message(request, principal, 403, text, text, back="/")

    @app.exception_handler(BadForm)
    def bad_form(request: Request, _exc: BadForm) -> HTMLResponse:
        principal = session_principal(request, service)
        text = say("csrf.bad", lang)
        return pages.message(request, principal, 403, text, text, back=_back(request.url.path))

    return feed


def _back(path: str) -> str:
    """Where a refused form's page sends the person back to."""
    if path.startswith("/alerts/") and path.endswith("/ack"):
        return path.removesuffix("/ack")
    if path.startswith(("/ack/", "/people")):
        return path if path.startswith("/ack/") else "/people"
    return "/login" if path in ("/login", "/logout") else "/"
