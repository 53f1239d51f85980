"""What the outbox holds: a notification, frozen, with how urgent it is and whose it is."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

import orjson

# The priority of a notification (lower goes first).
_URGENT_STATES = frozenset({"firing", "late", "edge", "escalated", "repeat"})
_SEVERITY_RANK = {"critical": 0, "warning": 1, "info": 2}
LATER = 3  # acknowledged, resolved: news, not alarms
REPORT = 4  # scheduled reports


def priority(severity: str, state: str) -> int:
    """The outbox priority of a notification about an alert of ``severity`` entering
    ``state`` (lower goes first)."""
    if state in _URGENT_STATES:
        return _SEVERITY_RANK.get(severity, 1)
    return LATER


@dataclass(frozen=True, slots=True)
class Notification:
    """One message to tell: its body (the SPEC §5 keys of an alert's message, or a
    report's), the alert it is about (0: none), its priority and its ``subject`` (a
    device: its messages go in the order they were queued).

    Frozen, its body a read-only copy: a part added later (a link) makes a new one with
    :meth:`with_parts`, so what was queued is what is sent.
    """

    body: Mapping[str, Any]
    alert_id: int = 0
    priority: int = 1
    subject: str = ""

    def __post_init__(self) -> None:
        # A copy of its own (nested values too: an alert's tags are the live alert's).
        body = orjson.loads(orjson.dumps(dict(self.body)))
        object.__setattr__(self, "body", MappingProxyType(body))

    def with_parts(self, **parts: Any) -> Notification:
        """This notification with ``parts`` added to (or replacing keys of) its body."""
        return replace(self, body={**self.body, **parts})

    def payload(self) -> dict[str, Any]:
        """The body as a new dict, for a channel to format and send."""
        return dict(self.body)

    def to_json(self) -> str:
        """The body as JSON text (how the outbox keeps it)."""
        return orjson.dumps(dict(self.body)).decode()

    @classmethod
    def from_row(
        cls, body: str | bytes, alert_id: int, priority: int, subject: str
    ) -> Notification:
        """A notification read back from the outbox."""
        return cls(orjson.loads(body), alert_id, priority, subject)
