"""``/duty/samples``: the canteen's food samples on a phone (SPEC §11): the meal's dishes
and grams, which sample fridge, each sample's 48-hour countdown and its fridge's
temperatures, and a printable label."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from campuswatch.clock import now_ms
from ingest.app import IngestService
from ingest.duty.samples import BOOK, SampleIn, SampleRefused
from ingest.duty.samples import MEALS as SAMPLE_MEALS
from ingest.web.console.page_text import say
from ingest.web.console.routes.common import pages
from ingest.web.console.routes.duty_common import guard_only, refused, saved, when
from ingest.web.deps import PersonDep, ServiceDep
from ingest.web.forms import check_form

router = APIRouter(include_in_schema=False)
Csrf = Annotated[str, Form(max_length=200)]
Field = Annotated[str, Form(max_length=200)]
DISH_ROWS = 6
MEALS = tuple(SAMPLE_MEALS)


@router.get("/duty/samples", response_class=HTMLResponse)
def samples_page(request: Request, service: ServiceDep, person: PersonDep) -> HTMLResponse:
    """The form, and the samples of the last days with their countdown."""
    duty = service.duty
    now = now_ms(service.clock)
    keep = int(duty.config.sample_keep.total_seconds() * 1000)
    recent = duty.books.between(BOOK, now - 2 * keep - 86_400_000, now + 1)
    shown = [_sample(service, duty.samples.view(r), now) for r in reversed(recent)]
    fridges = [
        (d.device, (d.info.name if d.info and d.info.name else d.device))
        for d in service.registry.devices()
        if d.kind == "temperature" and d.info and d.info.tags.get("class") == "sample_fridge"
    ]
    lang = service.config.site.language
    return pages(request).page(
        request,
        "samples.html",
        person,
        title=say("duty.samples", lang),
        samples=shown,
        fridges=fridges,
        meals=MEALS,
        rows=range(DISH_ROWS),
        least=duty.config.sample_min_grams,
        saved=request.query_params.get("saved"),
    )


@router.post("/duty/samples")
async def add_samples(request: Request, service: ServiceDep, person: PersonDep) -> Response:
    """Record a meal's samples (every dish of at least the least grams, or nothing)."""
    form = await request.form()
    check_form(request, service, str(form.get("csrf", "")), person)
    guard_only(person)
    dishes = []
    for i in range(DISH_ROWS):
        name, grams = str(form.get(f"dish{i}", "")).strip(), str(form.get(f"grams{i}", "")).strip()
        if name or grams:
            dishes.append({"name": name, "grams": grams or "0"})
    body = {
        "meal": str(form.get("meal", "")),
        "dishes": dishes,
        "fridge": str(form.get("fridge", "")),
        "taken_at": now_ms(service.clock),
    }
    try:
        service.duty.samples.record(SampleIn.model_validate(body), person.name)
    except ValidationError as exc:
        return refused(request, service, person, "/duty/samples", exc)
    except SampleRefused as exc:
        return refused(request, service, person, "/duty/samples", exc)
    return saved("/duty/samples")


@router.post("/duty/samples/{rid}/discard")
def discard(
    request: Request,
    service: ServiceDep,
    person: PersonDep,
    rid: Annotated[int, Path(ge=1)],
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Record who threw a sample away (after its 48 hours)."""
    check_form(request, service, csrf, person)
    guard_only(person)
    try:
        service.duty.samples.discard(rid, person.name)
    except (SampleRefused, LookupError) as exc:
        return refused(request, service, person, "/duty/samples", exc)
    return saved("/duty/samples")


@router.get("/duty/samples/{rid}/label", response_class=HTMLResponse)
def label(
    request: Request, service: ServiceDep, person: PersonDep, rid: Annotated[int, Path(ge=1)]
) -> HTMLResponse:
    """A label to stick on the sample box: dishes, grams, date and hour, who."""
    record = service.duty.books.get(BOOK, rid)
    lang = service.config.site.language
    if record is None:
        title, text = say("not_found.title", lang), say("duty.nothing", lang)
        return pages(request).message(request, person, 404, title, text, back="/duty/samples")
    sample = _sample(service, service.duty.samples.view(record), now_ms(service.clock))
    return pages(request).page(
        request, "sample_label.html", person, title=say("sample.label", lang), s=sample
    )


def _sample(service: IngestService, view: dict[str, Any], now: int) -> dict[str, Any]:
    lang = service.config.site.language
    left = view["discard_after"] - now
    if left > 0:
        hours, minutes = divmod(left // 60_000, 60)
        countdown = say("sample.left", lang, h=hours, m=minutes)
    else:
        countdown = say("sample.done", lang)
    log = view["fridge"]
    fridge = (
        say(
            "sample.fridge_log", lang, min=log["min"], max=log["max"], n=log["out_of_range_minutes"]
        )
        if log["min"] is not None
        else say("sample.fridge_unknown", lang)
    )
    meal = say(f"sample.meal.{view['meal']}", lang) if view["meal"] in MEALS else view["meal"]
    return {
        **view,
        "meal_text": meal,
        "taken_text": when(service, view["taken_at"]),
        "discard_text": say("sample.discard_after", lang, at=when(service, view["discard_after"])),
        "countdown": countdown,
        "kept": left > 0,
        "fridge_text": fridge,
        "excursion": bool(view["excursion"] or log["out_of_range_minutes"]),
        "discarded_text": say(
            "sample.discarded",
            lang,
            by=view["discarded_by"],
            at=when(service, view["discarded_at"]),
        )
        if view["discarded_by"]
        else "",
    }
