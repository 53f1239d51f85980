"""What acknowledging an alert can run into, and how a person's note is cleaned."""

from __future__ import annotations

import re

from ingest.errors import IngestError
from ingest.rules.model import Alert


class AlertNotFound(IngestError):
    """No alert has this id."""


class AlertConflict(IngestError):
    """The alert is not in a state that allows the request.

    ``reason``: ``resolved``, ``pending``, ``acknowledged`` (then ``by`` who) or ``used``.
    """

    def __init__(self, message: str, reason: str, by: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.by = by


class AlertForbidden(IngestError):
    """The alert is outside the person's areas: they may not acknowledge it."""


class AckLinkUsed(AlertConflict):
    """The ack link was used before: a link acknowledges once."""


def check_ackable(alert_id: int, alert: Alert | None) -> Alert:
    """``alert`` (the active alert ``alert_id``, None once resolved) if it can be
    acknowledged now, else the :class:`AlertConflict` that says why not."""
    if alert is None:
        raise AlertConflict(f"alert {alert_id} is already resolved", "resolved")
    if alert.state == "pending":
        raise AlertConflict(f"alert {alert_id} is pending and has not fired yet", "pending")
    if alert.state == "acknowledged":
        by = alert.acknowledged_by
        raise AlertConflict(
            f"alert {alert_id} was already acknowledged by {by}", "acknowledged", by
        )
    return alert


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean_note(note: str) -> str:
    """A note as people typed it, without control characters (line breaks stay)."""
    return _CONTROL.sub("", note.replace("\r\n", "\n")).strip()[:1000]
