"""Alarms a gateway tells on its own (SPEC §12): while the central broker has been out of
reach for ``edge.after``, a smoke, leak or panic alarm that turned on since it was last
reached is told at once through the gateway's own channels (the server's senders, from
the core) and the local siren sounds; one that turned on in the first seconds of the cut
is told as soon as ``after`` has passed, even if it is over by then (a panic button's
press). An alarm that turned on while the broker still acknowledged is the server's to
tell. Each alarm is told once, until its field goes false again; the alarms on, and
whether told, are kept in the queue's file, so a reboot during the outage does not tell
again.

Each notification waits in ``<buffer>.edge`` (SQLite, fsync'd) until its channel takes it,
so a reboot during the outage neither loses nor repeats one (one in flight when the power
went may be sent twice; receivers can tell by ``X-Campuswatch-Delivery``). Channels are
rate-limited as the server's robots are; a channel that refuses a message (4xx) gets it no
more after a few tries, so the others are not held up. The readings themselves go to the
buffer as always and reach the server when the uplink is back.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from campuswatch.backoff import Backoff
from campuswatch.clock import Clock, now_ms
from campuswatch.i18n import Catalogue
from campuswatch.notify.factory import people_sender
from campuswatch.notify.ratelimit import RateLimit
from campuswatch.notify.sender import ChannelError, ChannelRefused, Sender
from campuswatch.protocol import ALARM_FIELDS, EdgeTold
from campuswatch.sqlitefile import open_durable, transaction
from campuswatch.worker import Worker
from gateway.config.edge import EdgeConfig
from gateway.siren import sound

log = logging.getLogger(__name__)

MAX_REFUSALS = 5
_SCHEMA = """
CREATE TABLE IF NOT EXISTS pending (
    id INTEGER PRIMARY KEY AUTOINCREMENT, channel TEXT NOT NULL, body TEXT NOT NULL,
    due_ms INTEGER NOT NULL, refusals INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS alarms (
    device TEXT PRIMARY KEY, kind TEXT NOT NULL, on_ms INTEGER NOT NULL,
    told INTEGER NOT NULL, over INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS told (id INTEGER PRIMARY KEY AUTOINCREMENT, body BLOB NOT NULL);
"""
WORDS = Catalogue(
    {
        "title.smoke": ("烟雾报警（网关直接通知）", "Smoke alarm (told by the gateway)"),
        "title.leak": ("漏水报警（网关直接通知）", "Water leak (told by the gateway)"),
        "title.panic": ("一键报警（网关直接通知）", "Panic button (told by the gateway)"),
        "message": (
            "{name}：{time} 报警。网关 {gateway} 连不上中心服务器，由网关直接通知；恢复连接后"
            "中心会补记此告警。",
            "{name}: alarm at {time}. Gateway {gateway} cannot reach the central server and"
            " tells you itself; the server records the alarm when it is back.",
        ),
    }
)
DownSince = Callable[[], float | None]  # since when the uplink is down (None: it is up)


def _write_alarm(db: sqlite3.Connection, device: str, alarm: Alarm | None) -> None:
    if alarm is None:
        db.execute("DELETE FROM alarms WHERE device = ?", (device,))
    else:
        db.execute(
            "INSERT OR REPLACE INTO alarms VALUES (?, ?, ?, ?, ?)",
            (device, alarm.kind, alarm.on_ms, int(alarm.told), int(alarm.over)),
        )


@dataclass(frozen=True, slots=True)
class ToldRecord:
    """An alarm the gateway told, for the server (an ``EdgeTold`` payload), kept until the
    central broker takes it."""

    id: int
    body: bytes


@dataclass(frozen=True, slots=True)
class Alarm:
    """A device's alarm: on, or over but not yet told."""

    kind: str
    on_ms: int  # the reading that turned it on
    told: bool
    over: bool = False  # its field is false again (kept until told: a panic press)


class EdgeAlarms:
    """Watches readings, tells the edge channels and sounds the siren while cut off."""

    def __init__(
        self,
        config: EdgeConfig,
        site: str,
        gateway: str,
        names: dict[str, str],
        down_since: DownSince,
        clock: Clock,
        path: Path,
        timezone: str,
    ) -> None:
        self.config = config
        self.site, self.gateway, self.names = site, gateway, names
        self.down_since = down_since
        self.clock = clock
        self.path = path
        self.tz = ZoneInfo(timezone)
        self.senders: dict[str, Sender] = {
            name: people_sender(channel, config.language)
            for name, channel in config.channels.items()
        }
        self._limits = {
            n: RateLimit(s.per_minute, clock) for n, s in self.senders.items() if s.per_minute
        }
        self._backoffs = {name: Backoff(1.0, 60.0) for name in self.senders}
        self._lock = threading.Lock()
        self._on: dict[str, Alarm] = {}  # by device
        self._db: sqlite3.Connection | None = None
        self._worker = Worker("edge-alarms", self._deliver)
        self.told = 0  # alarms told since start (health)
        self.has_unsent = False  # told records the server has not heard of (uplink reads it)

    def start(self) -> None:
        """Open the queue (what waited before a reboot goes out) and start delivering."""
        self._db = open_durable(self.path, _SCHEMA, rows=True)
        rows = self._db.execute("SELECT * FROM alarms").fetchall()
        self._on = {
            r["device"]: Alarm(r["kind"], r["on_ms"], bool(r["told"]), bool(r["over"]))
            for r in rows
        }
        self.has_unsent = bool(self._db.execute("SELECT 1 FROM told LIMIT 1").fetchone())
        self._worker.start()

    def stop(self) -> None:
        """Stop delivering; what waits stays for the next start."""
        self._worker.stop()
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
        for sender in self.senders.values():
            sender.close()

    def pending(self) -> int:
        """Notifications waiting for their channel (health)."""
        with self._lock:
            if self._db is None:
                return 0
            return int(self._db.execute("SELECT count(*) FROM pending").fetchone()[0])

    def unsent(self) -> list[ToldRecord]:
        """The alarms told that the central broker has not taken yet, oldest first."""
        with self._lock:
            if self._db is None:
                return []
            rows = self._db.execute("SELECT id, body FROM told ORDER BY id").fetchall()
            self.has_unsent = bool(rows)
        return [ToldRecord(r["id"], bytes(r["body"])) for r in rows]

    def sent(self, record: ToldRecord) -> None:
        """The central broker took ``record`` (its PUBACK came)."""
        self._update("DELETE FROM told WHERE id = ?", record.id)

    def observe(self, reading: dict[str, Any]) -> None:
        """A reading on its way to the buffer: an alarm turned on while cut off is told.
        Never raises (the reading must reach the buffer whatever happens here)."""
        try:
            self._observe(reading)
        except Exception:
            log.exception(
                "edge alarms: a reading of %s could not be looked at", reading.get("device")
            )

    def _observe(self, reading: dict[str, Any]) -> None:
        kind = reading.get("kind")
        if kind not in self.config.kinds:
            return
        value = reading.get("values", {}).get(ALARM_FIELDS[kind])
        if not isinstance(value, bool):
            return
        device = reading["device"]
        with self._lock:
            current = self._on.get(device)
            if value:
                turned_on = current is None or current.over
                new = Alarm(kind, int(reading["ts"]), told=False) if turned_on else current
            elif current is None or current.over:
                new = current  # off stays off; an alarm over but untold waits to be told
            else:  # over: forgotten, unless it is still to be told (a press in a cut)
                new = replace(current, over=True) if self._to_tell(current) else None
            self._store(device, new)
        self._tell_due()

    def _to_tell(self, alarm: Alarm) -> bool:
        """Whether ``alarm`` turned on since the broker last acknowledged and is untold."""
        since = self.down_since()
        return not alarm.told and since is not None and alarm.on_ms >= since * 1000

    def _tell_due(self) -> None:
        """Once the cut has lasted ``after``, tell every alarm that turned on during it."""
        since = self.down_since()
        if since is None or self.clock.time() - since < self.config.after.total_seconds():
            return
        with self._lock:
            due = [(d, a) for d, a in self._on.items() if self._to_tell(a)]
        for device, alarm in due:
            self._tell(device, alarm)

    def _store(
        self, device: str, alarm: Alarm | None, db: sqlite3.Connection | None = None
    ) -> None:
        """Remember a device's alarm (None: forget it), in memory and in the file (in
        ``db``'s transaction when given); the caller holds the lock."""
        if self._on.get(device) == alarm:
            return
        if alarm is None:
            del self._on[device]
        else:
            self._on[device] = alarm
        if db is None and self._db is not None:
            with transaction(self._db) as own:
                _write_alarm(own, device, alarm)
        elif db is not None:
            _write_alarm(db, device, alarm)

    def _tell(self, device: str, alarm: Alarm) -> None:
        """Queue the alarm for every channel and for the server, and remember it was told
        (one transaction)."""
        now = now_ms(self.clock)
        text = orjson.dumps(self._body(device, alarm.kind, alarm.on_ms)).decode()
        record = self._record(device, alarm, now)
        with self._lock:
            current = self._on.get(device)
            if self._db is None or current != alarm:  # changed meanwhile
                return
            with transaction(self._db) as db:  # queued and known as told: all or nothing
                for channel in self.senders:
                    db.execute(
                        "INSERT INTO pending (channel, body, due_ms) VALUES (?, ?, ?)",
                        (channel, text, now),
                    )
                if record is not None:
                    db.execute("INSERT INTO told (body) VALUES (?)", (record,))
                self._store(device, None if alarm.over else replace(alarm, told=True), db)
            self.told += 1
            self.has_unsent = self.has_unsent or record is not None
        log.warning("edge alarm: %s on %s told by the gateway (uplink down)", alarm.kind, device)
        self._worker.wake()
        if self.config.siren is not None:
            siren = self.config.siren
            threading.Thread(target=sound, args=(siren,), name="edge-siren", daemon=True).start()

    def _record(self, device: str, alarm: Alarm, now: int) -> bytes | None:
        """What the server is told of it once the uplink is back (None when the gateway's
        clock is not to be believed, before 2020: the people are told all the same, and
        the server tells it again when the readings come)."""
        try:
            told = EdgeTold(
                gateway=self.gateway,
                device=device,
                kind=alarm.kind,  # type: ignore[arg-type]  # one of edge.kinds
                field=ALARM_FIELDS[alarm.kind],
                ts=alarm.on_ms,
                told_ts=now,
                channels=list(self.senders),
            )
        except ValueError as exc:
            log.error("edge alarm of %s: no record for the server: %s", device, exc)
            return None
        return told.model_dump_json().encode()

    def _body(self, device: str, kind: str, ts: int) -> dict[str, Any]:
        lang = self.config.language
        at = datetime.fromtimestamp(ts / 1000, self.tz)
        name = self.names.get(device, device)
        message = WORDS.say(
            "message", lang, name=name, time=at.strftime("%H:%M:%S"), gateway=self.gateway
        )
        return {
            "alert_id": 0,
            "rule": f"edge:{kind}",
            "device": device,
            "kind": kind,
            "gateway": self.gateway,
            "site": self.site,
            "name": name,
            "ts": ts,
            "severity": "critical",
            "state": "edge",
            "edge": True,
            "title": WORDS.say(f"title.{kind}", lang),
            "message": message,
            "value": None,
            "started_at": at.isoformat(),
            "tags": {},
        }

    def _deliver(self) -> float:
        """Tell what became due (``after`` passed with an alarm on and no new reading of
        it), send what is due on each channel; the seconds until the next look."""
        try:
            self._tell_due()
        except Exception:  # what waits is sent all the same
            log.exception("edge alarms: what became due could not be queued")
        waits = [self._deliver_one(channel) for channel in self.senders]
        return min([*waits, 1.0])

    def _deliver_one(self, channel: str) -> float:
        """Send the channel's next notification if it is due and the rate allows; the
        seconds until the channel should be looked at again."""
        limit = self._limits.get(channel)
        if limit is not None and limit.wait_s() > 0:
            return limit.wait_s()
        with self._lock:
            if self._db is None:
                return 1.0
            row = self._db.execute(
                "SELECT * FROM pending WHERE channel = ? ORDER BY due_ms, id LIMIT 1", (channel,)
            ).fetchone()
        if row is None:
            return 5.0
        wait = float(row["due_ms"] - now_ms(self.clock)) / 1000
        if wait > 0:
            return wait
        if limit is not None:
            limit.take()
        return self._send(channel, row)

    def _send(self, channel: str, row: sqlite3.Row) -> float:
        try:
            delivery = f"{self.site}.{self.gateway}.edge-{row['id']}"  # not a server outbox id
            self.senders[channel].send(orjson.loads(row["body"]), delivery)
        except ChannelRefused as exc:
            return self._refused(row, exc)
        except ChannelError as exc:
            delay = self._backoffs[channel].next_delay()
            log.warning("edge alarm to %s failed, again in %.0f s: %s", channel, delay, exc)
            due = now_ms(self.clock) + int(delay * 1000)
            self._update("UPDATE pending SET due_ms = ? WHERE id = ?", due, row["id"])
            return delay
        except Exception as exc:  # a sender's bug must not hold every other channel
            log.exception("edge alarm %d to %s: unexpected failure", row["id"], channel)
            return self._refused(row, ChannelRefused(str(exc)))
        self._backoffs[channel].reset()
        self._update("DELETE FROM pending WHERE id = ?", row["id"])
        log.info("edge alarm %d delivered to %s", row["id"], channel)
        return 0.0

    def _refused(self, row: sqlite3.Row, exc: ChannelRefused) -> float:
        if row["refusals"] + 1 >= MAX_REFUSALS:
            log.error("edge alarm %d refused by %s, given up: %s", row["id"], row["channel"], exc)
            self._update("DELETE FROM pending WHERE id = ?", row["id"])
        else:
            self._update(
                "UPDATE pending SET refusals = refusals + 1, due_ms = ? WHERE id = ?",
                now_ms(self.clock) + 5000,
                row["id"],
            )
        return 0.5

    def _update(self, sql: str, *args: object) -> None:
        with self._lock:
            if self._db is not None:
                with transaction(self._db) as db:
                    db.execute(sql, args)
