"""What one input to the engine (a reading, a status, a tick, an acknowledgement) changed:
the alerts' steps, the condition states and the ack links used, in the order they were
decided. :class:`~ingest.rules.recorder.Recorder` records a batch in one transaction."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from campuswatch.protocol import EdgeTold
from ingest.rules.model import Alert, AlertKey, EventState
from ingest.rules.store import ConditionState


@dataclass(frozen=True, slots=True)
class Transition:
    """One step of one alert. ``alert`` is the live alert (its id is set when it is first
    recorded); ``record`` a copy of it as this step left it; ``events`` the steps of its
    history, the first one told to ``channels`` (nobody: pending, untold, dropped)."""

    alert: Alert
    record: Alert
    events: tuple[EventState, ...]
    now_ms: int
    channels: tuple[str, ...] = ()
    actor: str | None = None
    note: str | None = None
    ending: str | None = None
    dropped: bool = False


@dataclass(slots=True)
class Batch:
    """The changes of one input, recorded together or not at all."""

    transitions: list[Transition] = field(default_factory=list)
    conditions: dict[AlertKey, ConditionState] = field(default_factory=dict)
    links_used: list[tuple[str, int, int]] = field(default_factory=list)  # nonce, alert, ms
    edge_told: list[tuple[str, EdgeTold]] = field(default_factory=list)  # site, record

    def __bool__(self) -> bool:
        return bool(self.transitions or self.conditions or self.links_used or self.edge_told)

    def step(
        self,
        alert: Alert,
        events: tuple[EventState, ...],
        now_ms: int,
        channels: list[str] | tuple[str, ...] = (),
        *,
        actor: str | None = None,
        note: str | None = None,
        ending: str | None = None,
    ) -> None:
        """Add a step of ``alert`` as it is now (its record is a copy: later steps of the
        same input change the live alert, not what this step records and tells)."""
        record = replace(alert)
        step = Transition(alert, record, events, now_ms, tuple(channels), actor, note, ending)
        self.transitions.append(step)

    def drop(self, alert: Alert, now_ms: int) -> None:
        """Forget a pending alert whose condition cleared before it fired."""
        self.transitions.append(Transition(alert, alert, (), now_ms, dropped=True))

    def told_since(self, alert: Alert, since_ms: int) -> bool:
        """Whether another alert of ``alert``'s rule and device was told at or after
        ``since_ms`` in this batch (the store answers for those recorded before)."""
        return any(
            t.alert is not alert
            and t.alert.key == alert.key
            and (t.record.last_notified_ms or -1) >= since_ms
            for t in self.transitions
        )

    def covers(self, key: AlertKey, ts_ms: int) -> tuple[bool, set[int]]:
        """Whether an alert of ``key`` covers ``ts_ms`` (began by it and ended after) as
        this batch left it, and the stored ids of the alerts of ``key`` it changed (the
        store's rows of those are out of date: the caller asks the store for the rest)."""
        last: dict[int, Transition] = {}  # the last step of each alert, by object
        for step in self.transitions:
            if step.alert.key == key:
                last[id(step.alert)] = step
        covered = any(
            not t.dropped
            and t.record.since_ms <= ts_ms
            and (t.record.resolved_ms is None or t.record.resolved_ms >= ts_ms)
            for t in last.values()
        )
        return covered, {t.alert.id for t in last.values() if t.alert.id > 0}
