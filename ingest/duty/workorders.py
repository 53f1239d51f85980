"""Work orders (维修, SPEC §11): repairs opened by a person, or by the service itself once
per device and problem when a reading says so, and closed by the service when that field
reads healthy again (with how long it took).

Problems the service opens an order for: ``battery_low: true`` or ``battery`` below
``duty.battery_low_pct``; a detector's ``fault``; ``tamper`` (a camera covered or out of
focus says so too); a device silent for a day (the duty timer). The orders still open
are kept in memory, so a reading costs a few dict lookups and only a change is written.
An order may mute its device's notifications until ``mute_until`` (at most 7 days): the
alerts are still recorded and shown, nobody is called for a device being repaired.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from campuswatch.clock import Clock, now_ms
from campuswatch.protocol import FieldValue
from campuswatch.protocol.readings import Reading
from ingest.config.base import Line200
from ingest.config.duty import DutyConfig
from ingest.duty.books import DutyBooks, DutyError, Record

log = logging.getLogger(__name__)

# An order's states as people say them (Chinese, English).
STATE_WORDS = {
    "open": ("待处理", "open"),
    "in_progress": ("维修中", "in progress"),
    "done": ("已完成", "done"),
}
BOOK, STATES = "workorders", "workorders.state"
SERVICE = "系统"  # who the service's own orders are by
MAX_MUTE_MS = 7 * 86_400_000
SILENT_MS = 86_400_000
BATTERY_MARGIN = 10  # a battery counts as healthy again this many points above the limit
State = Literal["open", "in_progress", "done"]
NEXT: dict[str, tuple[str, ...]] = {"open": ("in_progress", "done"), "in_progress": ("done",)}
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
DeviceKey = tuple[str, str, str]  # (site, gateway, device)
Known = Callable[[str], list[DeviceKey]]  # a device id -> the devices with it (gateways)
NameOf = Callable[[DeviceKey], str]  # what people call a device


class WorkOrderIn(BaseModel):
    """``POST /api/duty/workorders``."""

    model_config = ConfigDict(extra="forbid")
    title: Line200
    device: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    gateway: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    note: Note = ""
    mute_until: Annotated[int, Field(gt=0)] | None = None
    photo: bool = False  # a photo was taken (kept beside the order: see photos.py)


class StateIn(BaseModel):
    """``POST /api/duty/workorders/{id}/state``."""

    model_config = ConfigDict(extra="forbid")
    state: State
    note: Note = ""


class WorkOrderRefused(DutyError):
    """A work order or a state change that cannot be saved (the message says why)."""


HEALTH_FIELDS = frozenset({"battery_low", "battery", "fault", "tamper"})  # what problems_of reads


def problems_of(values: dict[str, FieldValue], low_pct: float) -> dict[str, bool]:
    """Each health problem a reading speaks of: True when it has it, False when healthy."""
    found: dict[str, bool] = {}
    if isinstance(values.get("battery_low"), bool):
        found["battery_low"] = bool(values["battery_low"])
    battery = values.get("battery")
    if isinstance(battery, int | float) and not isinstance(battery, bool):
        # Between the limit and the margin above it a reading says nothing: a battery
        # hovering at the limit opens one order, not one per reading.
        if battery < low_pct:
            found["battery_low"] = True
        elif battery >= low_pct + BATTERY_MARGIN and not found.get("battery_low"):
            found["battery_low"] = False
    for flag in ("fault", "tamper"):
        if isinstance(values.get(flag), bool):
            found[flag] = bool(values[flag])
    return found


class WorkOrders:
    """The work-order book, and the orders the service opened that are still open."""

    def __init__(
        self, books: DutyBooks, config: DutyConfig, known: Known, name_of: NameOf, clock: Clock
    ) -> None:
        self.books = books
        self.config = config
        self.known = known
        self.name_of = name_of
        self.clock = clock
        self._lock = threading.Lock()
        self._auto: dict[tuple[DeviceKey, str], int] = {}  # (device, problem) -> order id
        self._muted: dict[DeviceKey, int] = {}  # device -> muted until (ms)

    def load(self) -> None:
        """Read the open orders (at start)."""
        auto: dict[tuple[DeviceKey, str], int] = {}
        muted: dict[DeviceKey, int] = {}
        for record in self.books.all(BOOK):
            key = _key(record)
            if key is None or self.state(record)[0] == "done":
                continue
            if record.body.get("problem"):
                auto[(key, record.body["problem"])] = record.id
            if record.body.get("mute_until"):
                muted[key] = record.body["mute_until"]
        with self._lock:
            self._auto, self._muted = auto, muted

    # ------------------------------------------------------------------ people

    def open(self, order: WorkOrderIn, by: str) -> Record:
        """A person's order (a device named must be one of the site's)."""
        now = now_ms(self.clock)
        key = None
        if order.device is not None:
            found = [k for k in self.known(order.device) if order.gateway in (None, k[1])]
            if not found:
                raise WorkOrderRefused(
                    f"device: no device {order.device!r}", "没有这个设备，请重新选择"
                )
            if len(found) > 1:
                gateways = ", ".join(k[1] for k in found)
                raise WorkOrderRefused(
                    f"device: {order.device!r} is on gateways {gateways}: name the gateway",
                    f"有几个网关都有叫 {order.device} 的设备（{gateways}），请写明网关",
                )
            key = found[0]
        if order.mute_until is not None and not now < order.mute_until <= now + MAX_MUTE_MS:
            raise WorkOrderRefused(
                "mute_until: must be in the next 7 days", "静音最长 7 天（168 小时）"
            )
        if order.mute_until is not None and key is None:
            raise WorkOrderRefused(
                "mute_until: needs the device to mute", "要静音，请选择是哪个设备"
            )
        body = {**order.model_dump(), "key": list(key) if key else None, "problem": None}
        record = self.books.append(BOOK, now, by, body)
        if key and order.mute_until:
            with self._lock:
                self._muted[key] = order.mute_until
        return record

    def move(self, rid: int, change: StateIn, by: str) -> Record:
        """Move an order on (open → in_progress → done; done is final)."""
        record = self.books.get(BOOK, rid)
        if record is None:
            raise LookupError(f"no work order {rid}")

        def allowed(earlier: list[Record]) -> None:
            now_state = earlier[-1].body["state"] if earlier else "open"
            if change.state not in NEXT.get(now_state, ()):
                raise WorkOrderRefused(
                    f"work order {rid} is {now_state}: cannot go {change.state}",
                    f"这个维修单现在是“{STATE_WORDS[now_state][0]}”，"
                    f"不能再改成“{STATE_WORDS[change.state][0]}”",
                )

        saved = self.books.follow_up(
            STATES, record, now_ms(self.clock), by, change.model_dump(), check=allowed
        )
        if change.state == "done":
            self._forget(record)
        return saved

    # ------------------------------------------------------------------ the service

    def on_readings(self, site: str, gateway: str, readings: list[Reading]) -> None:
        """Open an order for each problem a reading shows, close it when healthy again."""
        for reading in readings:
            if HEALTH_FIELDS.isdisjoint(reading.values):  # most readings: one set operation
                continue
            found = problems_of(reading.values, self.config.battery_low_pct)
            if found:
                self._health((site, gateway, reading.device), found)

    def silent(self, key: DeviceKey, since_ms: int | None) -> None:
        """The duty timer: a device unheard for a day gets an order, heard again closes it."""
        quiet = since_ms is not None and now_ms(self.clock) - since_ms > SILENT_MS
        self._health(key, {"silent": quiet})

    def muted_now(self) -> list[tuple[DeviceKey, int]]:
        """Every device muted for repair now, with until when (the board shows them)."""
        now = now_ms(self.clock)
        with self._lock:
            return [(key, until) for key, until in self._muted.items() if until > now]

    def muted(self, key: DeviceKey) -> int | None:
        """Until when the device's notifications are muted (None: they are not)."""
        with self._lock:
            until = self._muted.get(key)
        return until if until is not None and until > now_ms(self.clock) else None

    def _health(self, key: DeviceKey, found: dict[str, bool]) -> None:
        for problem, present in found.items():
            with self._lock:
                open_id = self._auto.get((key, problem))
            if present and open_id is None:
                self._open_for(key, problem)
            elif not present and open_id is not None:
                self._close_for(key, problem, open_id)

    def _open_for(self, key: DeviceKey, problem: str) -> None:
        body = {
            "title": f"{self.name_of(key)}：{PROBLEM_WORDS[problem]}",
            "device": key[2],
            "note": "",
            "mute_until": None,
            "key": list(key),
            "problem": problem,
        }
        record = self.books.append(BOOK, now_ms(self.clock), SERVICE, body)
        with self._lock:
            self._auto[(key, problem)] = record.id
        log.info("work order %d opened: %s %s", record.id, key[2], problem)

    def _close_for(self, key: DeviceKey, problem: str, rid: int) -> None:
        record = self.books.get(BOOK, rid)
        if record is None:
            return
        took = (now_ms(self.clock) - record.at_ms) // 60_000
        note = f"{PROBLEM_WORDS[problem]}已恢复，用时 {took} 分钟"
        try:
            self.move(rid, StateIn(state="done", note=note), SERVICE)
        except WorkOrderRefused:  # a person closed it already
            self._forget(record)
        log.info("work order %d done: %s %s healthy again", rid, key[2], problem)

    def _forget(self, record: Record) -> None:
        key, problem = _key(record), record.body.get("problem")
        if key is None:
            return
        with self._lock:
            if problem:
                self._auto.pop((key, problem), None)
            if record.body.get("mute_until") and self._muted.get(key) == record.body["mute_until"]:
                del self._muted[key]  # this order's mute ends with it

    # ------------------------------------------------------------------ reading

    def state(self, record: Record) -> tuple[str, list[Record]]:
        """An order's state now and its changes."""
        changes = self.books.about(STATES, record.id)
        return (changes[-1].body["state"] if changes else "open"), changes

    def view(self, record: Record) -> dict[str, Any]:
        """An order as the API shows it."""
        state, changes = self.state(record)
        body = {k: v for k, v in record.body.items() if k != "key"}
        done = next((c for c in changes if c.body["state"] == "done"), None)
        return {
            **record.as_json(),
            **body,
            "state": state,
            "changes": [c.as_json() for c in changes],
            "done_at": done.at_ms if done else None,
            "minutes": (done.at_ms - record.at_ms) // 60_000 if done else None,
        }


def _key(record: Record) -> DeviceKey | None:
    key = record.body.get("key")
    return (
        (str(key[0]), str(key[1]), str(key[2])) if isinstance(key, list) and len(key) == 3 else None
    )


PROBLEM_WORDS = {
    "battery_low": "电量低",
    "fault": "故障",
    "tamper": "被拆动、遮挡或失焦",
    "silent": "一天没有数据",
}
