"""Alerts as the engine, the store, the notifiers and the API see them."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

AlertState = Literal["pending", "firing", "acknowledged", "resolved"]
EventState = Literal[
    "pending", "firing", "repeat", "escalated", "acknowledged", "resolved", "late", "edge"
]
ACTIVE_STATES: tuple[AlertState, ...] = ("pending", "firing", "acknowledged")
AlertKey = tuple[str, str, str, str]
"""Which alert: (rule, site, gateway, device), one rule on one device (or gateway)."""
# Notifications of these steps carry an ack link (SPEC §5 ``ack_url``).
ACKABLE_STATES: frozenset[str] = frozenset({"firing", "repeat", "escalated", "late", "edge"})
NotifiedBy = Literal["server", "gateway"]


@dataclass(slots=True)
class Alert:
    """One alert of one rule on one device (or gateway)."""

    rule: str
    site: str
    gateway: str
    device: str
    kind: str
    severity: str
    state: AlertState
    since_ms: int  # when the condition began (within the rule's active period)
    title: str = ""
    field: str | None = None
    value: float | None = None
    tags: dict[str, str] = dataclasses.field(default_factory=dict)
    name: str | None = None
    id: int = 0
    started_ms: int | None = None  # when it fired
    acknowledged_by: str | None = None
    ack_note: str | None = None
    acknowledged_ms: int | None = None
    resolved_ms: int | None = None
    last_notified_ms: int | None = None
    escalated: bool = False
    snapshot: str | None = None  # the camera snapshot its last notification named
    # Who told people first: the server, or the gateway while cut off (SPEC §12; then
    # ``edge_told_ms`` says when). None: nobody yet (pending, or untold by ``once_per``).
    notified_by: NotifiedBy | None = None
    edge_told_ms: int | None = None

    @property
    def key(self) -> AlertKey:
        """Its rule and device."""
        return (self.rule, self.site, self.gateway, self.device)


def told_when_over(alert: Alert, events: list[AlertEvent]) -> bool:
    """Whether ``alert`` was first told after its condition was over (``late``, or
    ``edge`` at its end): it is resolved, but someone should still take note of it."""
    end = alert.resolved_ms
    return any(
        e.state == "late" or (e.state == "edge" and end is not None and e.ts_ms >= end)
        for e in events
    )


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """One lifecycle step of an alert, kept as its history."""

    alert_id: int
    ts_ms: int
    state: EventState
    actor: str | None = None
    note: str | None = None
    value: float | None = None
