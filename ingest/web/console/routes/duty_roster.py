"""``/duty/roster`` (two weeks of shifts; admins edit a fortnight at once, copy last week
onto this one, or import lines ``date,shift,login,...``) and ``/duty/rounds`` (today's
windows and a month of rounds per day against GB/T 29315-2022's five a day)."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from ingest.app import IngestService
from ingest.duty.roster import RosterEntry, RosterRefused
from ingest.duty.swaps import SwapIn, SwapRefused
from ingest.people.principal import Principal
from ingest.web.console.page_text import say, word
from ingest.web.console.routes.common import pages
from ingest.web.console.routes.duty_common import guard_only, refused, saved, when
from ingest.web.deps import AdminPersonDep, PersonDep, ServiceDep
from ingest.web.forms import check_form

router = APIRouter(include_in_schema=False)
Csrf = Annotated[str, Form(max_length=200)]
DAYS = 14
MAX_IMPORT = 20_000  # characters of an import
LEAST_PER_DAY = 5  # GB/T 29315-2022: key areas of a kindergarten patrolled 5 times a day


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


@router.get("/duty/roster", response_class=HTMLResponse)
def roster_page(
    request: Request,
    service: ServiceDep,
    person: PersonDep,
    start: Annotated[date | None, Query(alias="from")] = None,
) -> HTMLResponse:
    """Two weeks of shifts from ``from`` (default: this week's Monday)."""
    today = service.site_now().date()
    first = start or _monday(today)
    duty, lang = service.duty, service.config.site.language
    names = {p.login: p.name for p in service.people.people()}
    entries = duty.roster.entries(first, first + timedelta(days=DAYS - 1))
    shifts = [
        (s, cfg.name or word("shift", s, lang), f"{cfg.from_:%H:%M}–{cfg.to:%H:%M}")
        for s, cfg in duty.config.shifts.items()
    ]
    days = [first + timedelta(days=i) for i in range(DAYS)]
    cells = {(e.date, e.shift): e.people for e in entries}
    mine = [(e.date, e.shift) for e in entries if person.login in e.people and e.date >= today]
    open_swaps = [
        v
        for v in (duty.swaps.view(r) for r in duty.books.all("swaps")[-50:])
        if v["state"] in ("asked", "consented")
    ]
    return pages(request).page(
        request,
        "roster.html",
        person,
        title=say("duty.roster", lang),
        first=first,
        before=first - timedelta(days=7),
        after=first + timedelta(days=7),
        days=days,
        shifts=shifts,
        shift_names={s: name for s, name, _ in shifts},  # a swap's shift as people say it
        cells=cells,
        names=names,
        logins=sorted(names),
        mine=mine,
        swaps=open_swaps,
        saved=request.query_params.get("saved"),
    )


@router.post("/duty/swaps")
def ask_swap(
    request: Request,
    service: ServiceDep,
    person: PersonDep,
    csrf: Csrf = "",
    shift: Annotated[str, Form(max_length=80)] = "",
    taker: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Ask another person to take one of my shifts (``shift``: ``2026-12-07|night``)."""
    check_form(request, service, csrf, person)
    guard_only(person)
    day, _, name = shift.partition("|")
    try:
        swap = SwapIn.model_validate({"date": day, "shift": name, "taker": taker})
        service.duty.swaps.ask(swap, person.login or "")
    except ValidationError as exc:
        return refused(request, service, person, "/duty/roster", exc)
    except SwapRefused as exc:
        return refused(request, service, person, "/duty/roster", exc)
    return saved("/duty/roster")


@router.post("/duty/swaps/{rid}/{step}")
def swap_step(
    request: Request,
    service: ServiceDep,
    person: PersonDep,
    rid: Annotated[int, Path(ge=1)],
    step: Literal["consent", "approve", "refuse"],
    csrf: Csrf = "",
) -> Response:
    """Consent (the taker), approve (an admin: the roster changes) or refuse."""
    check_form(request, service, csrf, person)
    guard_only(person)
    try:
        service.duty.swaps.step(rid, step, person.login or "", person.may("admin"), person.name)
    except (LookupError, SwapRefused, RosterRefused) as exc:
        return refused(request, service, person, "/duty/roster", exc)
    return saved("/duty/roster")


@router.post("/duty/roster")
async def save_roster(request: Request, service: ServiceDep, admin: AdminPersonDep) -> Response:
    """Save every cell of the fortnight shown (empty: nobody)."""
    form = await request.form()
    check_form(request, service, str(form.get("csrf", "")), admin)
    entries = []
    for key, value in form.multi_items():
        if not key.startswith("cell."):
            continue
        parts = key.split(".")
        if len(parts) != 3:  # not a cell this page made
            text = say("form.not_a_cell", service.config.site.language, key=key[:80])
            return refused(request, service, admin, "/duty/roster", text)
        _, day, shift = parts
        logins = [x.strip() for x in str(value).replace("，", ",").split(",") if x.strip()]
        entries.append({"date": day, "shift": shift, "people": logins})
    back = f"/duty/roster?from={form.get('from', '')}"
    return _put(request, service, admin, entries, back)


@router.post("/duty/roster/copy")
def copy_last_week(
    request: Request,
    service: ServiceDep,
    admin: AdminPersonDep,
    start: Annotated[date, Form(alias="from")],
    csrf: Csrf = "",
) -> Response:
    """The seven days before ``from`` copied onto ``from`` and the six days after it."""
    check_form(request, service, csrf, admin)
    last_week = service.duty.roster.entries(start - timedelta(days=7), start - timedelta(days=1))
    entries = [
        {"date": (e.date + timedelta(days=7)).isoformat(), "shift": e.shift, "people": e.people}
        for e in last_week
    ]
    return _put(request, service, admin, entries, f"/duty/roster?from={start}")


@router.post("/duty/roster/import")
def import_roster(
    request: Request,
    service: ServiceDep,
    admin: AdminPersonDep,
    csrf: Csrf = "",
    lines: Annotated[str, Form(max_length=MAX_IMPORT)] = "",
) -> Response:
    """Lines ``2026-12-07,night,zhang,li`` (a spreadsheet's CSV): all saved, or none."""
    check_form(request, service, csrf, admin)
    entries = []
    for number, row in enumerate(csv.reader(io.StringIO(lines.strip())), start=1):
        if not row or not "".join(row).strip():
            continue
        if len(row) < 2:
            lang, shown = service.config.site.language, ",".join(row)[:80]
            text = say("form.roster_line", lang, number=number, row=shown)
            return refused(request, service, admin, "/duty/roster", text)
        people = [x.strip() for x in row[2:] if x.strip()]
        entries.append({"date": row[0].strip(), "shift": row[1].strip(), "people": people})
    return _put(request, service, admin, entries, "/duty/roster")


def _put(
    request: Request,
    service: IngestService,
    admin: Principal,
    entries: list[dict[str, Any]],
    back: str,
) -> Response:
    """Save ``entries`` (all or none), or the page that says why not."""
    try:
        checked = [RosterEntry.model_validate(e) for e in entries]
        service.duty.roster.put(checked, admin.name)
    except ValidationError as exc:
        return refused(request, service, admin, back, exc)
    except RosterRefused as exc:
        return refused(request, service, admin, back, exc)
    return saved(back)


@router.get("/duty/rounds", response_class=HTMLResponse)
def rounds_page(request: Request, service: ServiceDep, person: PersonDep) -> HTMLResponse:
    """Today's windows, and each day of this month: rounds walked in full."""
    today = service.site_now().date()
    rounds = service.duty.rounds
    names = {c.id: c.name for c in service.duty.config.checkpoints}
    windows = [
        {
            **w.model_dump(),
            "due_text": when(service, w.due_at),
            "done_text": when(service, w.done_at),
            "missed_names": [names.get(c, c) for c in w.missed],
        }
        for w in rounds.day(today, sense=True)
    ]
    month = []
    day = today.replace(day=1)
    while day <= today:
        done = sum(1 for w in rounds.day(day) if w.done_at)
        month.append((day.day, done, done >= LEAST_PER_DAY))
        day += timedelta(days=1)
    lang = service.config.site.language
    return pages(request).page(
        request,
        "rounds.html",
        person,
        title=say("duty.rounds", lang),
        windows=windows,
        month=month,
        month_title=say("rounds.month", lang, month=f"{today:%Y-%m}"),
        door_names={
            d.device: d.info.name if d.info and d.info.name else d.device
            for d in service.registry.devices()
            if d.kind == "door"
        },
        names=names,
    )
