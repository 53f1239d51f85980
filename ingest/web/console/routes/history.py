"""The alert log (``/history``): what happened tonight and today, and who took it — the
page a guard reads at handover, and the director the next morning."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from campuswatch.clock import local_time, now_ms
from ingest.config.places import Places
from ingest.rules.alert_text import location
from ingest.rules.model import Alert
from ingest.web.console.page_text import say
from ingest.web.console.routes.common import pages
from ingest.web.deps import AlertsDep, PersonDep, ServiceDep

router = APIRouter(include_in_schema=False)
NIGHT_STARTS = time(18, 0)  # before noon, the log starts at 18:00 of the day before
HISTORY_LIMIT = 300  # the newest; a storm's thousand are on the board and in the API


def window_start(now: datetime) -> tuple[datetime, str]:
    """Where the log starts: today's midnight, or last night's 18:00 before noon (a
    guard at the morning handover reads the whole night)."""
    midnight = datetime.combine(now.date(), time(0), now.tzinfo)
    if now.hour < 12:
        return datetime.combine(now.date() - timedelta(days=1), NIGHT_STARTS, now.tzinfo), "night"
    return midnight, "today"


@router.get("/history", response_class=HTMLResponse)
def history(
    request: Request, service: ServiceDep, alerts: AlertsDep, person: PersonDep
) -> HTMLResponse:
    """The alerts that fired since last night (or since midnight), newest first."""
    lang, tz = service.config.site.language, ZoneInfo(service.config.site.timezone)
    now = now_ms(service.clock)
    start, which = window_start(local_time(now, tz))
    fired = alerts.fired_between(int(start.timestamp() * 1000), now + 1, HISTORY_LIMIT)
    places = service.places
    rows = [_row(a, tz, lang, places) for a in reversed(fired)]
    return pages(request).page(
        request, "history.html", person, title=say(f"history.{which}", lang), rows=rows
    )


def _row(alert: Alert, tz: ZoneInfo, lang: str, places: Places) -> dict[str, object]:
    def hhmm(ms: int) -> str:
        return local_time(ms, tz).strftime("%H:%M")

    acked = (
        say("history.acked", lang, name=alert.acknowledged_by, time=hhmm(alert.acknowledged_ms))
        if alert.acknowledged_by and alert.acknowledged_ms
        else say("history.unacked", lang)
    )
    over = (
        say("history.resolved", lang, time=hhmm(alert.resolved_ms))
        if alert.resolved_ms
        else say("history.open", lang)
    )
    return {
        "id": alert.id,
        "severity": alert.severity,
        "time": hhmm(alert.started_ms or alert.since_ms),
        "title": alert.title,
        "place": location(alert, places),
        "acked": acked,
        "over": over,
    }
