"""The live board: what changed, rendered once and pushed to every open console.

Readings and gateway statuses mark their devices changed, alert transitions mark the
alerts changed (both cheap, on the MQTT thread). Twice a second, while a console is open,
a worker renders the cards of the changed devices once, keeps those whose HTML differs
from what it sent last (a reading that changes nothing shown becomes only a "last seen"
time, sent every few seconds), and queues one server-sent event for all open consoles:

- ``board``: ``{"devices": {id: {"html", "building"}}, "seen": {id: ms}, "alerts": {"order":
  [ids], "put": {id: html}}, "summary": html, "now": ms}`` (only the parts that changed;
  the summary line with devices or alerts);
- ``hello`` when a console connects, ``resync`` when it fell too far behind.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from campuswatch.clock import now_ms
from campuswatch.protocol import DeviceRef, Status
from campuswatch.protocol.readings import Reading
from campuswatch.worker import Worker
from ingest.web.console.board import BoardState
from ingest.web.console.pages import Pages
from ingest.web.console.views import AlertCard, DeviceCard, dom_id

log = logging.getLogger(__name__)

FLUSH_S = 0.5
SEEN_EVERY_S = 2.0
QUEUE_EVENTS = 64  # a console this far behind is told to reload its board instead


def sse(event: str, data: dict[str, Any]) -> bytes:
    """One server-sent event."""
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


@dataclass(eq=False)
class Subscriber:
    """One open console: events reach it through its event loop's queue."""

    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[bytes | None] = field(default_factory=lambda: asyncio.Queue(QUEUE_EVENTS))

    def send(self, event: bytes | None) -> None:
        """Queue an event from any thread (None ends the stream)."""
        self.loop.call_soon_threadsafe(self._put, event)

    def _put(self, event: bytes | None) -> None:
        if self.queue.full():  # too far behind: drop what waits, reload the board
            while not self.queue.empty():
                self.queue.get_nowait()
            event = sse("resync", {}) if event is not None else None
        self.queue.put_nowait(event)


class BoardFeed:
    """Collects changes and pushes them to the open consoles."""

    def __init__(self, board: BoardState, pages: Pages) -> None:
        self.board = board
        self.pages = pages
        self.clock = board.service.clock
        self._lock = threading.Lock()
        self._subscribers: set[Subscriber] = set()
        self._dirty: set[DeviceRef] = set()
        self._dirty_gateways: set[tuple[str, str]] = set()
        self._alerts_dirty = False
        self._seen: dict[str, int] = {}
        self._sent: dict[str, object] = {}  # dom id -> what was last sent of it
        # Every device's card as last rendered (for the summary line, without rendering
        # every card twice a second); filled when the first console opens.
        self._cards: dict[str, DeviceCard] = {}
        self._alert_cards: list[AlertCard] | None = None  # as of the last alert change
        self._seen_at = 0.0
        self._worker = Worker("board-feed", self._flush)
        self.events_sent = 0

    # ------------------------------------------------------------------ inputs (any thread)

    def on_readings(self, site: str, gateway: str, readings: Iterable[Reading]) -> None:
        """A ReadingListener: these devices changed."""
        if not self._subscribers:
            return  # nobody is watching: a console that opens loads the whole board
        with self._lock:
            self._dirty.update(DeviceRef(site, gateway, r.device) for r in readings)

    def on_status(self, site: str, gateway: str, _status: Status) -> None:
        """A StatusListener: this gateway's card changes."""
        with self._lock:
            self._dirty_gateways.add((site, gateway))

    def on_alerts_changed(self) -> None:
        """An alert was opened, fired, acknowledged, resolved or dropped."""
        with self._lock:
            self._alerts_dirty = True

    # ------------------------------------------------------------------ consoles

    def start(self) -> None:
        """Start pushing."""
        self._worker.start()

    def stop(self) -> None:
        """Stop pushing and end every open stream."""
        self._worker.stop(5)
        with self._lock:
            subscribers, self._subscribers = self._subscribers, set()
        for subscriber in subscribers:
            subscriber.send(None)

    def subscribe(self, loop: asyncio.AbstractEventLoop) -> Subscriber:
        """A new open console."""
        subscriber = Subscriber(loop)
        with self._lock:
            self._subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        """A console closed."""
        with self._lock:
            self._subscribers.discard(subscriber)

    @property
    def consoles(self) -> int:
        """How many consoles are open."""
        return len(self._subscribers)

    # ------------------------------------------------------------------ the worker

    def _flush(self) -> float:
        with self._lock:
            dirty, self._dirty = self._dirty, set()
            gateways, self._dirty_gateways = self._dirty_gateways, set()
            alerts_dirty, self._alerts_dirty = self._alerts_dirty, False
            subscribers = list(self._subscribers)
        if not subscribers:
            self._sent.clear()  # a console that connects later loads the whole board
            self._cards.clear()
            self._alert_cards = None
            return FLUSH_S
        if not self._cards:
            self._cards = {c.dom_id: c for c in self.board.cards()}
        message: dict[str, Any] = {}
        devices = self._devices(dirty, gateways)
        if devices:
            message["devices"] = devices
        if alerts_dirty or self._alert_cards is None:
            self._alert_cards = self.board.alerts()
        if alerts_dirty:
            message["alerts"] = self._alerts(self._alert_cards)
        if devices or alerts_dirty:
            summary = self._summary()
            if self._sent.get("summary") != summary:  # most readings change no count
                self._sent["summary"] = message["summary"] = summary
        seen = self._due_seen()
        if seen:
            message["seen"] = seen
        if message:
            message["now"] = now_ms(self.clock)
            event = sse("board", message)
            for subscriber in subscribers:
                subscriber.send(event)
            self.events_sent += 1
        return FLUSH_S

    def _devices(
        self, dirty: set[DeviceRef], gateways: set[tuple[str, str]]
    ) -> dict[str, dict[str, str]]:
        registry = self.board.service.registry
        keys = set(dirty)
        keys.update(DeviceRef(site, gateway, gateway) for site, gateway in gateways)
        changed: dict[str, dict[str, str]] = {}
        for site, gateway, device in keys:
            dev = registry.device(site, gateway, device)
            if dev is None:
                self._cards.pop(dom_id("d-", site, gateway, device), None)
                continue
            card = self.board.card(dev)
            self._cards[card.dom_id] = card
            shown = card.shown()
            if self._sent.get(card.dom_id) != shown:
                self._sent[card.dom_id] = shown
                html = self.pages.fragment("_device_card.html", c=card)
                changed[card.dom_id] = {"html": html, "building": card.building}
            elif card.seen_ms is not None:
                self._seen[card.dom_id] = card.seen_ms
        return changed

    def _due_seen(self) -> dict[str, int]:
        now = self.clock.time()
        if not self._seen or now - self._seen_at < SEEN_EVERY_S:
            return {}
        self._seen_at = now
        seen, self._seen = self._seen, {}
        return seen

    def _summary(self) -> str:
        """The board's top line and what needs a person, as they are now."""
        assert self._alert_cards is not None
        summary = self.board.summary(list(self._cards.values()), self._alert_cards)
        return self.pages.fragment("_summary.html", summary=summary)

    def _alerts(self, cards: list[AlertCard]) -> dict[str, Any]:
        put = {}
        for card in cards:
            html = self.pages.fragment("_alert_card.html", a=card)
            if self._sent.get(card.dom_id) != html:
                self._sent[card.dom_id] = html
                put[card.dom_id] = html
        return {"order": [c.dom_id for c in cards], "put": put}
