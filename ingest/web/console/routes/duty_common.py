"""What the duty pages share: local times as people read them, a guard check, and the
page that says a form was refused and why."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from ingest.app import IngestService
from ingest.duty.books import DutyError
from ingest.people.principal import Principal
from ingest.web.console.page_text import WORDS, say, word
from ingest.web.console.pages import SECURITY_HEADERS
from ingest.web.console.routes.common import pages
from ingest.web.deps import Forbidden


def when(service: IngestService, ms: int | None) -> str:
    """``12月7日 21:05`` in the site's time (empty for None)."""
    if ms is None:
        return ""
    local = datetime.fromtimestamp(ms / 1000, ZoneInfo(service.config.site.timezone))
    if service.config.site.language == "zh":
        return f"{local.month}月{local.day}日 {local:%H:%M}"
    return local.strftime("%m-%d %H:%M")


def guard_only(person: Principal) -> None:
    """Records are written by guards and admins (SPEC §11): a viewer gets 403."""
    if not person.may("guard"):
        raise Forbidden


def refused(
    request: Request,
    service: IngestService,
    person: Principal,
    back: str,
    problem: str | DutyError | ValidationError | LookupError,
) -> HTMLResponse:
    """A form that could not be saved: 400 with why, in the site's language, a way back."""
    lang = service.config.site.language
    title = say("form.refused", lang)
    return pages(request).message(request, person, 400, title, reason(problem, lang), back=back)


def reason(problem: str | DutyError | ValidationError | LookupError, lang: str) -> str:
    """Why a form was refused, as the people of the site read it."""
    if isinstance(problem, DutyError):
        return problem.say(lang)
    if isinstance(problem, ValidationError):
        return why(problem, lang)
    if isinstance(problem, LookupError):  # the books' "no such record": gone meanwhile
        return say("form.gone", lang) if type(problem) is LookupError else str(problem)
    return problem


def saved(back: str) -> RedirectResponse:
    """After a saved form: back to its page (a reload does not post it again)."""
    separator = "&" if "?" in back else "?"
    return RedirectResponse(f"{back}{separator}saved=1", status_code=303)


def why(exc: ValidationError, lang: str) -> str:
    """A form's first problem: the field and why (``dishes.0.grams: greater than 0``; in
    Chinese ``菜 第 1 项 克数：应大于 0``)."""
    error = exc.errors()[0]
    if lang != "zh":
        return f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"
    where = " ".join(
        f"第 {p + 1} 项" if isinstance(p, int) else word("form.field", p, lang)
        for p in error["loc"]
    )
    known = f"form.error.{error['type']}" in WORDS
    limits = {k: v for k, v in error.get("ctx", {}).items() if isinstance(v, int | float | str)}
    text = say(f"form.error.{error['type']}", lang, **limits) if known else say("form.bad", lang)
    return f"{where}：{text}"


def jpeg_file(path: Path) -> Response:
    """A kept picture (a visitor's, a repair's) for a page, or 404."""
    if not path.is_file():
        return Response(status_code=404, headers=SECURITY_HEADERS)
    return FileResponse(path, media_type="image/jpeg", headers=SECURITY_HEADERS)
