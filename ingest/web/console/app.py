"""The console in the service's web app: its pages, files, live feed and error pages."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from ingest.app import IngestService
from ingest.web.console.board import BoardState
from ingest.web.console.feed import BoardFeed
from ingest.web.console.page_text import say
from ingest.web.console.pages import Pages
from ingest.web.console.routes import (
    acklinks,
    alerts,
    board,
    checkpoints,
    devices,
    duty_canteen,
    duty_gate,
    duty_hub,
    duty_repairs,
    duty_roster,
    history,
    login,
    people,
    reports,
)
from ingest.web.deps import Forbidden, LoginRequired, session_principal
from ingest.web.forms import BadForm


def install_console(app: FastAPI, service: IngestService) -> BoardFeed:
    """Add the console to ``app``; the live feed it returns runs while the app runs (see
    :func:`connect_feed`)."""
    pages = Pages(service)
    state = BoardState(service)
    feed = BoardFeed(state, pages)
    app.state.pages, app.state.board, app.state.feed = pages, state, feed
    app.mount("/static", StaticFiles(packages=[("ingest.web.console", "static")]), name="static")
    for module in (
        login,
        board,
        alerts,
        history,
        devices,
        reports,
        acklinks,
        people,
        checkpoints,
        duty_hub,
        duty_canteen,
        duty_gate,
        duty_repairs,
        duty_roster,
    ):
        app.include_router(module.router)
    lang = service.config.site.language

    @app.exception_handler(LoginRequired)
    def to_login(request: Request, _exc: LoginRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(Forbidden)
    def forbidden(request: Request, _exc: Forbidden) -> HTMLResponse:
        principal = session_principal(request, service)
        title, text = say("forbidden.title", lang), say("forbidden", lang)
        return pages.message(request, principal, 403, title, text, back="/")

    @app.exception_handler(BadForm)
    def bad_form(request: Request, _exc: BadForm) -> HTMLResponse:
        principal = session_principal(request, service)
        text = say("csrf.bad", lang)
        return pages.message(request, principal, 403, text, text, back=_back(request.url.path))

    return feed


def connect_feed(service: IngestService, feed: BoardFeed) -> Callable[[], None]:
    """Let the service's readings, status and alert changes reach the live feed; returns
    the function that disconnects it again (when the web app stops)."""
    disconnects = [
        service.handler.accepted.connect(feed.on_readings),
        service.handler.status_changed.connect(feed.on_status),
        service.alerts.changed.connect(feed.on_alerts_changed),
    ]

    def disconnect() -> None:
        for one in disconnects:
            one()

    return disconnect


def _back(path: str) -> str:
    """Where a refused form's page sends the person back to."""
    if path.startswith("/alerts/") and path.endswith("/ack"):
        return path.removesuffix("/ack")
    if path.startswith(("/ack/", "/people")):
        return path if path.startswith("/ack/") else "/people"
    return "/login" if path in ("/login", "/logout") else "/"
