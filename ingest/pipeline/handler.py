"""Turn one MQTT message into spool records, registry updates and dead letters.

This is the hot path: every readings envelope is validated once, its valid readings are
encoded to line protocol for the spool and handed to the live listeners (registry now,
the rules engine), and everything refused becomes a counted dead letter.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from campuswatch.clock import Clock, now_ms
from campuswatch.notify.ratelimit import RateLimit
from campuswatch.protocol import (
    CHANNELS,
    KINDS,
    MIN_TS_MS,
    SNAPSHOTS,
    DeviceRef,
    EdgeTold,
    Problem,
    Status,
    Topic,
    parse_edge,
    parse_meta,
    parse_status,
    parse_topic,
)
from campuswatch.protocol.readings import ParsedEnvelope, Reading, parse_envelope
from campuswatch.quietlog import QuietLog
from campuswatch.signal import Signal
from ingest.metrics import Metrics
from ingest.pipeline.deadletters import DeadLetter
from ingest.registry import Registry
from ingest.storage.dirty import SPAN_MS
from ingest.storage.lineprotocol import (
    NO_FIELDS,
    NUMBER_KINDS,
    encode_fields,
    encode_number_fields,
)
from ingest.storage.series import SeriesHeads
from ingest.storage.snapshots import (
    SnapshotConflict,
    SnapshotError,
    SnapshotStore,
    check_snapshot,
)

log = logging.getLogger(__name__)

EDGE_PER_MIN = 240  # records of alarms a gateway told on its own (a whole building's, and more)
TOPICS_KEPT = 10_000  # parsed topics remembered (a gateway's few topics repeat)
NUMBERS_IN_ONE_PASS = 4  # readings from which encode_number_fields is the cheaper


@dataclass(slots=True)
class Outcome:
    """What handling one message produced."""

    record: bytes | None = None  # line protocol for the spool
    spans: set[tuple[str, int]] = field(default_factory=set)  # (measurement, span) in it
    dead_letters: list[DeadLetter] = field(default_factory=list)

    def held_bytes(self) -> int:
        """Bytes of the record and the dead letters, held until they are committed."""
        size = len(self.record) if self.record else 0
        for letter in self.dead_letters:
            size += len(letter.payload)
        return size


class MessageHandler:
    """Validate, encode and route messages under one topic root."""

    def __init__(
        self,
        topic_root: str,
        serves: Callable[[str], bool],
        registry: Registry,
        metrics: Metrics,
        clock: Clock,
        snapshots: SnapshotStore | None = None,
        max_meta_bytes: int = 256 << 10,
        keep_days: int = 0,
    ) -> None:
        """``keep_days``: InfluxDB's retention (0: for ever); older readings are refused
        here, with the reason, instead of by InfluxDB one line at a time."""
        self.topic_root = topic_root
        self.serves = serves
        self.registry = registry
        self.series = SeriesHeads(registry)
        self.snapshots = snapshots
        self.metrics = metrics
        self.clock = clock
        self.max_meta_bytes = max_meta_bytes
        # A margin of an hour, so a reading at the edge is not refused by InfluxDB later.
        self.keep_ms = keep_days * 86_400_000 - 3_600_000 if keep_days else 0
        # Per-channel counters bound once; any other channel is counted as "other".
        self._counted = {c: metrics.messages.labels(c) for c in (*CHANNELS, SNAPSHOTS, "other")}
        self._topics: dict[str, Topic] = {}
        self._refused_log = QuietLog(log)
        self._untracked_log = QuietLog(log, every_s=60.0)
        self._edge_limits: dict[tuple[str, str], RateLimit] = {}
        # (site, gateway, readings) of every accepted envelope, in arrival order, after the
        # registry has them; a failing listener never stops storage.
        self.accepted: Signal[[str, str, list[Reading]]] = Signal("accepted readings")
        # (site, gateway, status) of every valid status message.
        self.status_changed: Signal[[str, str, Status]] = Signal("gateway status")
        # (site, gateway, devices removed, whether the gateway itself is gone) after a
        # gateway's device list changed or its retained meta was cleared.
        self.meta_changed: Signal[[str, str, set[str], bool]] = Signal("gateway meta")
        # (site, gateway, record) of every alarm a gateway told on its own (SPEC §12).
        self.edge_told: Signal[[str, str, EdgeTold]] = Signal("told by a gateway")

    def handle(self, topic: str, payload: bytes) -> Outcome:
        """Handle one message; never raises for bad input."""
        parsed = self._parse_topic(topic)
        if parsed is not None and not self.serves(parsed.site):
            self._counted["other"].inc()
            detail = f"site {parsed.site!r} is not served here (see site.id and site.also_serves)"
            return self._reject(topic, payload[:1024], "site_not_served", detail)
        if parsed is not None and parsed.channel == SNAPSHOTS and len(parsed.rest) == 2:
            self._counted[SNAPSHOTS].inc()
            return self._snapshot(topic, parsed.site, parsed.gateway, parsed.rest, payload)
        if parsed is None or parsed.rest:
            self._counted["other"].inc()
            return self._reject(topic, payload, "bad_topic", "not a campuswatch v1 topic")
        channel = parsed.channel
        self._counted.get(channel, self._counted["other"]).inc()
        if channel == "readings":
            return self._readings(topic, parsed.site, parsed.gateway, payload)
        if channel == "meta":
            return self._meta(topic, parsed.site, parsed.gateway, payload)
        if channel == "status":
            return self._status(topic, parsed.site, parsed.gateway, payload)
        if channel == "edge":
            return self._edge(topic, parsed.site, parsed.gateway, payload)
        return self._reject(topic, payload, "bad_topic", f"unknown channel {channel!r}")

    def _parse_topic(self, topic: str) -> Topic | None:
        """``parse_topic``, remembered for the topics that repeat: a gateway's readings,
        meta, status and edge (not made-up channels nor long topics, so a flood of topics
        costs at most ``TOPICS_KEPT`` short entries)."""
        parsed = self._topics.get(topic)
        if parsed is None:
            parsed = parse_topic(self.topic_root, topic)
            repeats = parsed is not None and parsed.channel in CHANNELS and not parsed.rest
            if parsed is not None and repeats and len(topic) <= 256:
                if len(self._topics) >= TOPICS_KEPT:  # a flood of made-up topics
                    self._topics.clear()
                self._topics[topic] = parsed
        return parsed

    def _snapshot(
        self, topic: str, site: str, gateway: str, rest: tuple[str, ...], payload: bytes
    ) -> Outcome:
        """Store a camera snapshot before the message is acknowledged."""
        if self.snapshots is None:
            return self._reject(topic, payload, "bad_topic", "snapshots are not kept here")
        device, snapshot_id = rest
        problem = check_snapshot(snapshot_id, payload)
        if problem:
            return self._reject(topic, payload[:1024], "bad_snapshot", problem)
        try:
            self.snapshots.save(DeviceRef(site, gateway, device), snapshot_id, payload)
        except SnapshotConflict as exc:
            return self._reject(topic, payload[:1024], "snapshot_conflict", str(exc))
        except SnapshotError as exc:  # disk trouble: the JPEG is kept as a dead letter
            return self._reject(topic, payload, "snapshot_not_stored", str(exc))
        return Outcome()

    def _reject(self, topic: str, payload: bytes, reason: str, detail: str) -> Outcome:
        self.metrics.rejected.labels(reason).inc()
        log.warning("rejected message on %s: %s", topic, detail)
        return Outcome(dead_letters=[DeadLetter(topic, reason, detail, payload)])

    def _readings(self, topic: str, site: str, gateway: str, payload: bytes) -> Outcome:
        now = now_ms(self.clock)
        oldest = max(now - self.keep_ms, MIN_TS_MS) if self.keep_ms else MIN_TS_MS
        envelope = parse_envelope(payload, gateway, now, oldest)
        outcome = Outcome()
        self._count_problems(topic, payload, envelope, outcome)
        if envelope.seq is None or not envelope.readings:
            return outcome
        check = self.registry.check_seq(site, gateway, envelope.seq)
        if check.reset:
            self.metrics.seq_resets.labels(gateway).inc()
            log.warning(
                "gateway %s: seq jumped to %d; counting envelopes from here on",
                gateway,
                envelope.seq,
            )
        elif check.missing:
            self.metrics.seq_gaps.labels(gateway).inc(check.missing)
            log.warning(
                "gateway %s: %d envelope(s) missing before seq %d",
                gateway,
                check.missing,
                envelope.seq,
            )
        elif check.repeat:
            self.metrics.seq_repeats.labels(gateway).inc()
        outcome.record = self._encode(site, gateway, envelope.readings, outcome.spans)
        self.metrics.readings_accepted.inc(len(envelope.readings))
        untracked = self.registry.observe(site, gateway, envelope.readings)
        if untracked:
            self._untracked(site, gateway, len(untracked))
        self.accepted.emit(site, gateway, envelope.readings)
        return outcome

    def _count_problems(
        self, topic: str, payload: bytes, envelope: ParsedEnvelope, outcome: Outcome
    ) -> None:
        for problem in envelope.rejected:
            self.metrics.rejected.labels(problem.code).inc()
        for problem in envelope.dropped:
            self.metrics.fields_dropped.labels(problem.code).inc()
        if envelope.rejected:
            detail = "; ".join(str(p) for p in envelope.rejected[:20])
            self._refused_log.log("rejected on %s: %s", topic, detail)
            reason = envelope.rejected[0].code
            outcome.dead_letters.append(DeadLetter(topic, reason, detail, payload))

    def _encode(
        self, site: str, gateway: str, readings: list[Reading], spans: set[tuple[str, int]]
    ) -> bytes:
        """Line protocol of the readings; the five-minute spans of each kind they touch go
        to ``spans`` (the derived series' book takes them from the spool, not the lines)."""
        # Meters and fridges, most readings; one pass of C pays from a few readings on.
        if len(readings) >= NUMBERS_IN_ONE_PASS and all(r.kind in NUMBER_KINDS for r in readings):
            fields = encode_number_fields([r.values for r in readings])
        else:
            fields = [encode_fields(r.values, KINDS[r.kind].types) or NO_FIELDS for r in readings]
        lines = []
        heads = self.series.of_gateway(site, gateway)
        kind, span = "", -1
        for r, text in zip(readings, fields, strict=True):
            if r.kind != kind or r.ts // SPAN_MS != span:  # the same for most readings
                kind, span = r.kind, r.ts // SPAN_MS
                spans.add((kind, span))
            head = heads.get((r.device, kind)) or self.series.head(site, gateway, r.device, kind)
            lines.append(f"{head} {text} {r.ts}")
        return "\n".join(lines).encode()

    def _untracked(self, site: str, gateway: str, count: int) -> None:
        self.metrics.devices_untracked.labels(gateway).inc(count)
        self._untracked_log.log(  # at every envelope of such a gateway: not line by line
            "gateway %r of site %r has more than %d devices: %d not tracked "
            "(limits.devices_per_gateway)",
            gateway,
            site,
            self.registry.max_devices,
            count,
        )

    def _meta(self, topic: str, site: str, gateway: str, payload: bytes) -> Outcome:
        if not payload:  # the retained meta cleared: the gateway is taken out of service
            removed = self.registry.forget_gateway(site, gateway)
            log.warning(
                "gateway %r of site %r: meta cleared, forgetting it and %d device(s)",
                gateway,
                site,
                len(removed),
            )
            self._tell_meta(site, gateway, removed, gone=True)
            return Outcome()
        if len(payload) > self.max_meta_bytes:  # refused before parsing it
            detail = (
                f"meta is {len(payload)} bytes, limit {self.max_meta_bytes} "
                "(limits.meta_kb); the devices known before are kept"
            )
            return self._reject(topic, payload, "meta_too_large", detail)
        meta = parse_meta(payload, gateway)
        outcome = Outcome()
        for problem in meta.rejected:
            self.metrics.rejected.labels(problem.code).inc()
        if meta.rejected:
            detail = "; ".join(
                f"devices[{p.index}]: {p.detail}" if p.index is not None else p.detail
                for p in meta.rejected
            )
            log.warning("meta on %s: %s", topic, detail)
            outcome.dead_letters.append(DeadLetter(topic, meta.rejected[0].code, detail, payload))
            if not meta.devices and meta.rejected[0].index is None:
                return outcome
        if len(meta.devices) > self.registry.max_devices:
            self._untracked(site, gateway, len(meta.devices) - self.registry.max_devices)
        removed = self.registry.update_meta(site, gateway, meta.devices)
        self._tell_meta(site, gateway, removed, gone=False)
        return outcome

    def _tell_meta(self, site: str, gateway: str, removed: set[str], *, gone: bool) -> None:
        self.meta_changed.emit(site, gateway, removed, gone)

    def _status(self, topic: str, site: str, gateway: str, payload: bytes) -> Outcome:
        if not payload:  # a cleared retained message
            return Outcome()
        status = parse_status(payload)
        if isinstance(status, Problem):
            return self._reject(topic, payload, status.code, status.detail)
        self.registry.update_status(site, gateway, status)
        self.status_changed.emit(site, gateway, status)
        return Outcome()

    def _edge(self, topic: str, site: str, gateway: str, payload: bytes) -> Outcome:
        told = parse_edge(payload, gateway, now_ms(self.clock))
        if isinstance(told, Problem):
            return self._reject(topic, payload[:4096], told.code, told.detail)
        if self.registry.device(site, gateway, told.device) is None:
            detail = f"device {told.device!r} is not one of gateway {gateway!r}'s (its meta)"
            return self._reject(topic, payload[:4096], "unknown_device", detail)
        limit = self._edge_limits.setdefault((site, gateway), RateLimit(EDGE_PER_MIN, self.clock))
        if limit.wait_s() > 0:  # a gateway tells once per alarm: a flood is not alarms
            detail = f"more than {EDGE_PER_MIN} a minute from gateway {gateway!r}"
            return self._reject(topic, payload[:4096], "edge_flood", detail)
        limit.take()
        log.warning(
            "gateway %s told %s alarm of %s on its own (uplink was down)",
            gateway,
            told.kind,
            told.device,
        )
        self.edge_told.emit(site, gateway, told)
        return Outcome()
