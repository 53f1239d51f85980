"""``GET/POST /login`` and ``POST /logout`` (SPEC §9)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from ingest.people.principal import Principal, from_session
from ingest.people.store import LoginRefused
from ingest.web.console.page_text import say
from ingest.web.console.routes.common import anonymous_page, safe_next
from ingest.web.deps import SESSION_COOKIE, ServiceDep, secure_cookies
from ingest.web.forms import check_form

router = APIRouter(include_in_schema=False)
Field = Annotated[str, Form(max_length=1024)]


@router.get("/login")
def login_form(request: Request, service: ServiceDep, next: str = "/") -> Response:  # noqa: A002
    """The login form (``login``, ``password``)."""
    return _form(request, service, next)


def _form(
    request: Request,
    service: ServiceDep,
    next_page: str,
    *,
    error: str | None = None,
    login: str = "",
    status: int = 200,
) -> Response:
    return anonymous_page(
        request,
        service,
        "login.html",
        status,
        title=say("login.title", service.config.site.language),
        error=error,
        login=login,
        next=safe_next(next_page),
    )


@router.post("/login")
def login(
    request: Request,
    service: ServiceDep,
    csrf: Annotated[str, Form(max_length=200)] = "",
    login: Annotated[str, Form(max_length=200)] = "",
    password: Field = "",
    next: Annotated[str, Form(max_length=500)] = "/",  # noqa: A002
) -> Response:
    """Log in: a session cookie and back to the board, or the form again with why not."""
    lang = service.config.site.language
    check_form(request, service, csrf, None)
    if not login.strip() or not password:
        return _form(
            request, service, next, error=say("login.missing", lang), login=login, status=400
        )
    address = request.client.host if request.client else ""
    wait = service.login_addresses.wait_s(address)
    if wait:  # before any hashing: one address cannot keep the hashing busy
        return _form(
            request,
            service,
            next,
            error=say("login.wait", lang, seconds=wait),
            login=login,
            status=429,
        )
    try:
        session = service.people.log_in(login, password)
    except LoginRefused as exc:
        return _form(
            request,
            service,
            next,
            error=_why(exc, lang),
            login=login,
            status=401 if exc.reason == "wrong" else 429,
        )
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        session.token,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(service),
        max_age=int(service.config.console.session_max.total_seconds()),
    )
    return response


def _why(refused: LoginRefused, lang: str) -> str:
    if refused.reason in ("wait", "busy"):
        return say("login.wait", lang, seconds=refused.retry_after_s)
    if refused.reason == "locked":
        return say("login.locked", lang, minutes=(refused.retry_after_s + 59) // 60)
    return say("login.wrong", lang)


@router.post("/logout")
def logout(
    request: Request, service: ServiceDep, csrf: Annotated[str, Form(max_length=200)] = ""
) -> Response:
    """End the session and go to the login form."""
    session = service.people.session(request.cookies.get(SESSION_COOKIE))
    principal: Principal | None = from_session(session) if session else None
    check_form(request, service, csrf, principal)
    if session is not None:
        service.people.log_out(session.token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response
