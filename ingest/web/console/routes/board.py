"""The board (``/``), tonight's doors (``/tonight``), their fragments for a resync, and the
live stream of changes (``/events``, server-sent events)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, StreamingResponse

from campuswatch.clock import now_ms
from ingest.web.console.feed import sse
from ingest.web.console.page_text import say
from ingest.web.console.pages import SECURITY_HEADERS
from ingest.web.console.routes.common import pages
from ingest.web.deps import BoardDep, FeedDep, PersonDep, ServiceDep, session_principal

router = APIRouter(include_in_schema=False)
BuildingQuery = Annotated[str | None, Query(max_length=64)]
PING_S = 15.0


def _live(view: str, building: str | None) -> tuple[str, str]:
    query = f"?{urlencode({'building': building})}" if building else ""
    return f"/events{query}", f"/board/{view}{query}"


@router.get("/", response_class=HTMLResponse)
def board(
    request: Request,
    service: ServiceDep,
    state: BoardDep,
    person: PersonDep,
    building: BuildingQuery = None,
) -> HTMLResponse:
    """Every device by building and room, the gateways, the active alerts first."""
    context = state.board(building or None, person.areas)
    live, fragment = _live("main", building)
    return pages(request).page(
        request,
        "board.html",
        person,
        title=say("nav.board", service.config.site.language),
        fragment="_board.html",
        view="main",
        base_path="/",
        live_url=live,
        fragment_url=fragment,
        **context,
    )


@router.get("/tonight", response_class=HTMLResponse)
def tonight(
    request: Request, service: ServiceDep, state: BoardDep, person: PersonDep
) -> HTMLResponse:
    """Every door that is open or unlocked now."""
    context = state.tonight()
    live, fragment = _live("tonight", None)
    return pages(request).page(
        request,
        "board.html",
        person,
        title=say("nav.tonight", service.config.site.language),
        fragment="_tonight.html",
        view="tonight",
        base_path="/tonight",
        live_url=live,
        fragment_url=fragment,
        **context,
    )


@router.get("/board/{view}", response_class=HTMLResponse)
def fragment(
    request: Request,
    state: BoardDep,
    person: PersonDep,
    view: str,
    building: BuildingQuery = None,
) -> HTMLResponse:
    """The inner part of the board or of tonight's doors, for a console that reconnected."""
    name, context = (
        ("_tonight.html", state.tonight())
        if view == "tonight"
        else ("_board.html", state.board(building or None, person.areas))
    )
    return HTMLResponse(pages(request).fragment(name, **context), headers=SECURITY_HEADERS)


@router.get("/events")
async def events(
    request: Request, service: ServiceDep, feed: FeedDep, _person: PersonDep
) -> StreamingResponse:
    """Changes of the board as they happen (``text/event-stream``)."""
    subscriber = feed.subscribe(asyncio.get_running_loop())

    async def stream() -> AsyncIterator[bytes]:
        checked = service.people.sessions_changed
        try:
            yield b"retry: 2000\n" + sse("hello", {"now": now_ms(service.clock)})
            while True:
                try:
                    event = await asyncio.wait_for(subscriber.queue.get(), PING_S)
                except TimeoutError:
                    event = b": ping\n\n"
                    checked = -1  # idle sessions expire: check at every ping
                if event is None:
                    return
                # Still logged in? A logout, a disabled person or a changed role anywhere
                # moves ``sessions_changed``: the stream ends before the next event.
                if checked != service.people.sessions_changed:
                    checked = service.people.sessions_changed
                    if session_principal(request, service) is None:
                        return
                yield event
        finally:
            feed.unsubscribe(subscriber)

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)
