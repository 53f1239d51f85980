"""``/people`` (admins): add a person, reset a password, disable or enable an account."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ingest.app import IngestService
from ingest.people.checks import PeopleError
from ingest.people.contacts import Contacts
from ingest.people.principal import Principal
from ingest.people.store import ROLES, PersonExists
from ingest.web.console.page_text import say
from ingest.web.console.routes.common import pages
from ingest.web.deps import AdminPersonDep, ServiceDep
from ingest.web.forms import check_form

router = APIRouter(include_in_schema=False)
Csrf = Annotated[str, Form(max_length=200)]
Text = Annotated[str, Form(max_length=1024)]
Login = Annotated[str, Path(max_length=64)]


def _page(
    request: Request,
    service: IngestService,
    admin: Principal,
    status: int = 200,
    error: str | None = None,
) -> HTMLResponse:
    lang = service.config.site.language
    places = service.places
    people = service.people.people()
    notice = say("people.saved", lang) if request.query_params.get("saved") else None
    return pages(request).page(
        request,
        "people.html",
        admin,
        status,
        title=say("people.title", lang),
        people=people,
        contacts=service.people.contacts([p.login for p in people]),
        roles=ROLES,
        area_names=lambda areas: "、".join(places.building(a) for a in areas),
        notice=notice,
        error=error,
    )


@router.get("/people", response_class=HTMLResponse)
def people(request: Request, service: ServiceDep, admin: AdminPersonDep) -> HTMLResponse:
    """Everyone who may log in, and the forms to change them."""
    return _page(request, service, admin)


def _areas(text: str) -> list[str]:
    """Building ids as typed in a form: separated by commas (，too) or spaces."""
    return text.replace("，", ",").replace(" ", ",").split(",")


def _saved() -> Response:
    return RedirectResponse("/people?saved=1", status_code=303)


@router.post("/people")
def add(
    request: Request,
    service: ServiceDep,
    admin: AdminPersonDep,
    csrf: Csrf = "",
    login: Text = "",
    name: Text = "",
    role: Text = "",
    password: Text = "",
    areas: Text = "",
    phone: Text = "",
    email: Text = "",
    wecom_userid: Text = "",
    dingtalk_mobile: Text = "",
) -> Response:
    """Add a person (with their contacts); a login that exists is refused and nothing
    changes."""
    check_form(request, service, csrf, admin)
    try:
        contacts = Contacts.checked(
            phone=phone, email=email, wecom_userid=wecom_userid, dingtalk_mobile=dingtalk_mobile
        )
        service.people.add(login.strip(), name, role, password, _areas(areas), contacts)
    except PersonExists:
        text = say("people.exists", service.config.site.language, login=login.strip())
        return _page(request, service, admin, 409, text)
    except PeopleError as exc:
        return _page(request, service, admin, 400, str(exc))
    return _saved()


@router.post("/people/{login}/change")
def change(
    request: Request,
    service: ServiceDep,
    admin: AdminPersonDep,
    login: Login,
    csrf: Csrf = "",
    name: Text = "",
    role: Text = "",
    areas: Text = "",
) -> Response:
    """Change a person's name, role and areas, explicitly (a new role ends their
    sessions); not one's own role (an admin cannot lock themselves out here)."""
    check_form(request, service, csrf, admin)
    if login == admin.login and role != admin.role:
        return _page(request, service, admin, 400, say("forbidden", service.config.site.language))
    try:
        service.people.change(login, name, role, _areas(areas))
    except PeopleError as exc:
        return _page(request, service, admin, 400, str(exc))
    return _saved()


@router.post("/people/{login}/contacts")
def set_contacts(
    request: Request,
    service: ServiceDep,
    admin: AdminPersonDep,
    login: Login,
    csrf: Csrf = "",
    phone: Text = "",
    email: Text = "",
    wecom_userid: Text = "",
    dingtalk_mobile: Text = "",
) -> Response:
    """Where ``on_duty`` reaches the person (SPEC §11)."""
    check_form(request, service, csrf, admin)
    try:
        contacts = Contacts.checked(
            phone=phone, email=email, wecom_userid=wecom_userid, dingtalk_mobile=dingtalk_mobile
        )
        service.people.set_contacts(login, contacts)
    except PeopleError as exc:
        return _page(request, service, admin, 400, str(exc))
    return _saved()


@router.post("/people/{login}/password")
def reset_password(
    request: Request,
    service: ServiceDep,
    admin: AdminPersonDep,
    login: Login,
    csrf: Csrf = "",
    password: Text = "",
) -> Response:
    """A new password (the person's sessions end)."""
    check_form(request, service, csrf, admin)
    try:
        service.people.set_password(login, password)
    except PeopleError as exc:
        return _page(request, service, admin, 400, str(exc))
    return _saved()


@router.post("/people/{login}/{action}")
def set_disabled(
    request: Request,
    service: ServiceDep,
    admin: AdminPersonDep,
    login: Login,
    action: str,
    csrf: Csrf = "",
) -> Response:
    """Disable (sessions end at once) or enable an account; not one's own."""
    check_form(request, service, csrf, admin)
    if action not in ("disable", "enable") or login == admin.login:
        return _page(request, service, admin, 400, say("forbidden", service.config.site.language))
    try:
        service.people.set_disabled(login, action == "disable")
    except PeopleError as exc:
        return _page(request, service, admin, 404, str(exc))
    return _saved()
