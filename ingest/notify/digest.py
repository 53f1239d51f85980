"""One message for many: when more notifications wait for a people's channel than it
should get one by one (a storm of alarms, a robot's rate limit), they go as a digest.

The digest counts them, lists the most urgent first (an alarm from another gateway is
never buried under a burst: notifications of one gateway with one title share a line,
"烟雾报警 ×1000：网关 gw-attic"), and links the console, where each can be acknowledged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from campuswatch.clock import local_time
from campuswatch.i18n import Catalogue
from ingest.outbox import OutboxItem

MAX_LINES = 10

WORDS = Catalogue(
    {
        "title": ("【{count} 条报警通知】{first}等", "[{count} notifications] {first} and more"),
        "group": ("{title} ×{count}：网关 {gateway}", "{title} ×{count}: gateway {gateway}"),
        "more": ("……另有 {count} 条", "... and {count} more"),
        "console": (
            "请在值班台查看并确认：{url}",
            "See and acknowledge them in the console: {url}",
        ),
    }
)


class Digest:
    """Builds the notification body (SPEC §5 keys) that stands for many."""

    def __init__(self, lang: str, timezone: str, console_url: str) -> None:
        self.lang = lang
        self.tz = ZoneInfo(timezone)
        self.console_url = console_url

    def body(self, items: Sequence[OutboxItem], now_ms: int) -> dict[str, Any]:
        """The digest of ``items`` (in delivery order: the most urgent first)."""
        bodies = [item.notification.body for item in items]
        lines = self._lines(bodies)
        if len(lines) > MAX_LINES:
            rest = sum(count for _, count in lines[MAX_LINES:])
            lines = [*lines[:MAX_LINES], (WORDS.say("more", self.lang, count=rest), rest)]
        text = [f"· {line}" for line, _ in lines]
        text.append(WORDS.say("console", self.lang, url=self.console_url))
        first = bodies[0]
        return {
            "alert_id": 0,
            "rule": "digest",
            "device": "",
            "gateway": "",
            "name": None,
            "site": first.get("site", ""),
            "severity": first.get("severity", "warning"),
            "state": "digest",
            "value": None,
            "tags": {},
            "ack_url": None,
            "title": WORDS.say("title", self.lang, count=len(bodies), first=first["title"]),
            "message": "\n".join(text),
            "url": self.console_url,
            "started_at": local_time(now_ms, self.tz).isoformat("T", "seconds"),
            "alert_ids": sorted({b.get("alert_id", 0) for b in bodies} - {0}),
            **_recipients(bodies),
        }

    def _lines(self, bodies: list[Mapping[str, Any]]) -> list[tuple[str, int]]:
        """A line per (gateway, title), in the order of its first notification."""
        groups: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
        for body in bodies:
            groups.setdefault((body.get("gateway", ""), body["title"]), []).append(body)
        lines = []
        for (gateway, title), members in groups.items():
            if len(members) == 1:
                lines.append((_one(members[0]), 1))
            else:
                count = len(members)
                line = WORDS.say("group", self.lang, title=title, count=count, gateway=gateway)
                lines.append((line, count))
        return lines


def _one(body: Mapping[str, Any]) -> str:
    """A single notification's line: its message, with its title's 【prefix】 if any."""
    title: str = body["title"]
    message = str(body.get("message", "")).split("\n", 1)[0]
    head = message.partition("：")[0] if "：" in message else message.partition(": ")[0]
    if head and title.endswith(head):
        return title.removesuffix(head) + message  # "【已恢复】" + "烟雾报警：…"
    return f"{title} — {message}"


def _recipients(bodies: list[Mapping[str, Any]]) -> dict[str, Any]:
    """Everyone any of the notifications was for (the people on duty, see
    ingest/duty/routing.py): their mentions, and their addresses with ``to_channel`` when
    some notification was for the channel's own recipients."""
    parts: dict[str, Any] = {}
    mention: dict[str, list[str]] = {}
    for body in bodies:
        for key, values in (body.get("mention") or {}).items():
            mention.setdefault(key, [])
            mention[key] += [v for v in values if v not in mention[key]]
    if mention:
        parts["mention"] = mention
    addresses = [a for body in bodies for a in body.get("to") or []]
    if addresses:
        parts["to"] = list(dict.fromkeys(addresses))
        parts["to_channel"] = any(not body.get("to") for body in bodies)
    return parts
