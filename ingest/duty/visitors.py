"""Visitors (来访登记, SPEC §11): who came, whom they visit, the leader who approved (the
plan's phone call), the gate camera's picture at sign-in, time in and out.

Personal data (PIPL art. 19: kept no longer than needed): phone numbers are shown masked
to everyone but admins; the picture is copied out of the snapshot store (which keeps its
own days) into ``state_dir/duty/visitors`` so both go together after ``visitor_keep``;
no face recognition, ever.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints

from campuswatch.clock import Clock, now_ms
from ingest.config.base import Line64
from ingest.config.duty import DutyConfig
from ingest.duty.books import AlreadyDone, DutyBooks, DutyError, Record
from ingest.people.contacts import mask_phone
from ingest.storage.snapshots import SnapshotStore

log = logging.getLogger(__name__)

BOOK, OUT = "visitors", "visitors.out"
PICTURE_AGE_MS = 10 * 60_000  # an older picture is not of this visitor
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9][0-9 -]{4,19}$")]


class VisitorIn(BaseModel):
    """``POST /api/duty/visitors``."""

    model_config = ConfigDict(extra="forbid")
    name: Line64
    phone: Phone | None = None
    visiting: Line64
    approved_by: Line64


class SignedOutAlready(DutyError):
    """A visitor signed out twice."""


class Visitors:
    """The visitors book and its pictures."""

    def __init__(
        self,
        books: DutyBooks,
        config: DutyConfig,
        snapshots: SnapshotStore,
        folder: Path,
        clock: Clock,
    ) -> None:
        self.books = books
        self.config = config
        self.snapshots = snapshots
        self.folder = folder
        self.clock = clock

    def sign_in(self, visitor: VisitorIn, by: str) -> Record:
        """Record an arrival with the gate camera's latest picture (if there is one)."""
        picture = self._picture()
        body = {**visitor.model_dump(), "snapshot": picture is not None}
        record = self.books.append(BOOK, now_ms(self.clock), by, body)
        if picture is not None:
            self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            shutil.copyfile(picture, self.picture_path(record.id))
        return record

    def sign_out(self, rid: int, by: str) -> Record:
        """Record a departure (once: a second is SignedOutAlready)."""
        record = self._record(rid)
        try:
            return self.books.follow_up(OUT, record, now_ms(self.clock), by, {}, once=True)
        except AlreadyDone as exc:
            raise SignedOutAlready(
                f"visitor {rid} was signed out already by {exc.earlier.by}",
                f"这位访客已由 {exc.earlier.by} 登记离开",
            ) from exc

    def view(self, record: Record, *, admin: bool) -> dict[str, Any]:
        """A visitor as the API shows them (the phone masked unless ``admin``)."""
        out = self.books.about(OUT, record.id)
        phone = record.body.get("phone")
        return {
            **record.as_json(),
            "phone": phone if admin or not phone else mask_phone(phone),
            "in_at": record.at_ms,
            "out_at": out[0].at_ms if out else None,
            "out_by": out[0].by if out else None,
            "snapshot": self.picture_path(record.id).exists(),
        }

    def still_in(self) -> list[Record]:
        """Visitors not signed out (the board in the evening, the handover)."""
        return self.books.without(BOOK, OUT)

    def picture_path(self, rid: int) -> Path:
        """Where the picture of visitor ``rid`` is kept."""
        return self.folder / f"{rid}.jpg"

    def forget_old(self) -> int:
        """Delete visitors (and pictures) older than ``visitor_keep``; how many went."""
        before = now_ms(self.clock) - int(self.config.visitor_keep.total_seconds() * 1000)
        old = [r.id for r in self.books.all(BOOK) if r.at_ms < before]
        gone = sum(self.books.cut_before(b, before) for b in (BOOK, OUT, f"{BOOK}.addenda"))
        for rid in old:
            self.picture_path(rid).unlink(missing_ok=True)
        return gone

    def _record(self, rid: int) -> Record:
        record = self.books.get(BOOK, rid)
        if record is None:
            raise LookupError(f"no visitor {rid}")
        return record

    def _picture(self) -> Path | None:
        camera = self.config.visitor_camera
        if camera is None:
            return None
        recent = now_ms(self.clock) - PICTURE_AGE_MS
        for ref in self.snapshots.cameras(camera):
            latest = self.snapshots.latest(ref)
            if latest is not None and latest.received_ms >= recent:
                return latest.path
        log.info("visitor sign-in: the gate camera %s has no picture yet", camera)
        return None
