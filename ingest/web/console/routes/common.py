"""What the console's routes share: the renderer, pages for people who are not logged in,
and where a login may send the browser next."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from ingest.app import IngestService
from ingest.people.csrf import ANON_COOKIE, new_anonymous_id
from ingest.web.console.pages import Pages
from ingest.web.deps import secure_cookies


def pages(request: Request) -> Pages:
    """The renderer of this web app."""
    renderer: Pages = request.app.state.pages
    return renderer


def anonymous_page(
    request: Request, service: IngestService, template: str, status: int = 200, /, **context: Any
) -> HTMLResponse:
    """A page for someone not logged in (login, ack link): its forms' CSRF token is bound
    to an anonymous cookie, set here when the browser has none yet."""
    anonymous_id = request.cookies.get(ANON_COOKIE)
    fresh = anonymous_id is None
    anonymous_id = anonymous_id or new_anonymous_id()
    response = pages(request).page(request, template, None, status, binding=anonymous_id, **context)
    if fresh:
        response.set_cookie(
            ANON_COOKIE,
            anonymous_id,
            httponly=True,
            samesite="lax",
            secure=secure_cookies(service),
            max_age=7 * 86_400,
        )
    return response


def safe_next(target: str) -> str:
    """Where to go after logging in: a path of this site only (no open redirect)."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"
