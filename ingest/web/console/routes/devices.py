"""A device's page (``/device?site=&gateway=&device=``): what it says now, its health,
its last day or week as a chart read from InfluxDB, and its alerts — the technician's
view of one fridge, meter or door."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from campuswatch.clock import local_time, now_ms
from ingest.app import IngestService
from ingest.errors import IngestError
from ingest.registry import KnownDevice
from ingest.storage.influx import quote_ident, quote_string
from ingest.web.console.chart import line_chart
from ingest.web.console.page_text import say
from ingest.web.console.routes.common import pages
from ingest.web.deps import AlertsDep, BoardDep, PersonDep, ServiceDep

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
Id = Annotated[str, Query(min_length=1, max_length=64)]
Span = Literal["day", "week"]
# What a chart shows of each kind: (field, unit), the first one the device reports.
CHARTED: dict[str, tuple[tuple[str, str], ...]] = {
    "temperature": (("celsius", "℃"),),
    "electricity": (("power_w", " W"), ("energy_kwh", " kWh")),
    "water": (("flow_m3h", " m³/h"), ("volume_m3", " m³")),
}
_SPANS = {"day": (timedelta(days=1), "15m"), "week": (timedelta(days=7), "2h")}


@router.get("/device", response_class=HTMLResponse)
def device_page(
    request: Request,
    service: ServiceDep,
    board: BoardDep,
    alerts: AlertsDep,
    person: PersonDep,
    site: Id,
    gateway: Id,
    device: Id,
    span: Span = "day",
) -> HTMLResponse:
    """One device: its card, health, chart and alerts."""
    lang = service.config.site.language
    dev = service.registry.device(site, gateway, device)
    if dev is None:
        title, text = say("not_found.title", lang), say("device.unknown", lang)
        return pages(request).message(request, person, 404, title, text, back="/")
    tz = ZoneInfo(service.config.site.timezone)
    history = [
        {"id": a.id, "title": a.title, "state": a.state, "since": _when(a.since_ms, tz)}
        for a in alerts.of_device(site, gateway, device)
    ]
    tags = dev.info.tags if dev.info else {}
    limits = board.limits.get(tags.get("class", "")) if dev.kind == "temperature" else None
    bounds = (limits.min, limits.max) if limits else (None, None)
    card = board.card(dev)
    return pages(request).page(
        request,
        "device.html",
        person,
        title=card.name,
        c=card,
        place=service.places.where(tags),
        history=history,
        chart=_chart(service, dev, span, tz, bounds),
        span=span,
        here={"site": site, "gateway": gateway, "device": device},
    )


def _when(ms: int, tz: ZoneInfo) -> str:
    return local_time(ms, tz).strftime("%m-%d %H:%M")


def _chart(
    service: IngestService,
    dev: KnownDevice,
    span: Span,
    tz: ZoneInfo,
    bounds: tuple[float | None, float | None],
) -> dict[str, Any] | None:
    """The chart of the device's main number over ``span`` (None: a kind without one, or
    nothing stored yet); ``error`` when InfluxDB cannot be read (the page still opens)."""
    choice = next((f for f in CHARTED.get(dev.kind, ()) if f[0] in dev.values), None)
    if choice is None:
        return None
    field, unit = choice
    length, step = _SPANS[span]
    end = now_ms(service.clock)
    start = end - int(length.total_seconds() * 1000)
    # Identifiers from CHARTED and the protocol's kinds, values as string literals: all
    # quoted (InfluxDB 3 takes no bound parameters on /query).
    where = " AND ".join(
        f"{quote_ident(tag)} = {quote_string(value)}"
        for tag, value in (("site", dev.site), ("gateway", dev.gateway), ("device", dev.device))
    )
    query = (
        f"SELECT mean({quote_ident(field)}) AS v FROM {quote_ident(dev.kind)}"  # noqa: S608
        f" WHERE {where} AND time >= {start}ms AND time <= {end}ms"
        f" GROUP BY time({step}) fill(none)"
    )
    try:
        rows = service.influx.query(query)
    except (IngestError, OSError) as exc:  # the page opens anyway, without its chart
        log.warning("device page: cannot read the history of %s: %s", dev.device, exc)
        return {"svg": "", "error": True}
    points = [(int(r["time"]), float(r["v"])) for r in rows if r.get("v") is not None]
    svg = line_chart(
        points,
        start_label=_when(start, tz),
        end_label=_when(end, tz),
        unit=unit,
        limits=bounds,
    )
    return {"svg": svg, "error": False, "field": field}
