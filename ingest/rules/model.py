"""Alerts as the engine, the store, the notifiers and the API see them."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

AlertState = Literal["pending", "firing", "acknowledged", "resolved"]
EventState = Literal["pending", "firing", "repeat", "escalated", "acknowledged", "resolved", "late"]
ACTIVE_STATES: tuple[AlertState, ...] = ("pending", "firing", "acknowledged")
AlertKey = tuple[str, str, str, str]
"""Which alert: (rule, site, gateway, device), one rule on one device (or gateway)."""
# Notifications of these steps carry an ack link (SPEC §5 ``ack_url``).
ACKABLE_STATES: frozenset[str] = frozenset({"firing", "repeat", "escalated", "late"})


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

    @property
    def key(self) -> AlertKey:
        """Its rule and device."""
        return (self.rule, self.site, self.gateway, self.device)


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """One lifecycle step of an alert, kept as its history."""

    alert_id: int
    ts_ms: int
    state: EventState
    actor: str | None = None
    note: str | None = None
    value: float | None = None
