"""Prometheus metrics of one ingest service (its own registry, so tests can run several)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from campuswatch.protocol import CHANNELS, SNAPSHOTS

# What the service refused or could not keep, summed over labels except the reason:
# the ``refused`` part of ``/api/health``.
REFUSALS = {
    "campus_rejected": "reason",
    "campus_devices_untracked": None,
    "campus_dead_letters_dropped": None,
    "campus_seq_resets": None,
    "campus_http_refused": "reason",
}


# Counters added to for every message by one thread only, the MQTT thread's hot path.
# prometheus_client's take a lock on every add: 0.7 us here, twice a message, about 4 %
# of all a single reading costs the service. These add to a plain number (one thread
# writes it; a scrape reads it under the GIL) and are served by a collector of the
# service's registry, under the same names and labels.


class Count:
    """One series of a :class:`HotCounter`."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0.0

    def inc(self, amount: float = 1) -> None:
        """Add ``amount`` (from the counter's one thread only)."""
        self.value += amount


class HotCounter(Collector):
    """A counter family whose series are all made when it is (a scrape never meets a
    series being added), each added to by one thread."""

    def __init__(
        self,
        name: str,
        documentation: str,
        registry: CollectorRegistry,
        label: str | None = None,
        values: tuple[str, ...] = (),
    ) -> None:
        self.name, self.documentation, self.label = name, documentation, label
        self._series = {value: Count() for value in values} if label else {"": Count()}
        registry.register(self)

    def labels(self, value: str) -> Count:
        """The series of one label value (one it was made with)."""
        return self._series[value]

    def inc(self, amount: float = 1) -> None:
        """Add to the counter without labels."""
        self._series[""].value += amount

    def collect(self) -> Iterator[CounterMetricFamily]:
        """The family as the scrape finds it."""
        family = self._family()
        for value, count in self._series.items():
            family.add_metric([value] if self.label else [], count.value)
        yield family

    def describe(self) -> Iterator[CounterMetricFamily]:
        """The family without samples (the registry checks names with it)."""
        yield self._family()

    def _family(self) -> CounterMetricFamily:
        labels = [self.label] if self.label else None
        return CounterMetricFamily(self.name, self.documentation, labels=labels)


class Metrics:
    """Counters and gauges served at ``/metrics``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        # Added to for every message, by the MQTT thread only.
        self.messages = HotCounter(
            "campus_messages_received",
            "MQTT messages received",
            r,
            label="channel",
            values=(*CHANNELS, SNAPSHOTS, "other"),
        )
        self.readings_accepted = HotCounter(
            "campus_readings_accepted", "Readings validated and spooled", r
        )
        self.readings_stored = Counter(
            "campus_readings_stored", "Points written to InfluxDB", registry=r
        )
        self.rejected = Counter(
            "campus_rejected",
            "Envelopes, readings or meta entries rejected",
            ["reason"],
            registry=r,
        )
        self.fields_dropped = Counter(
            "campus_fields_dropped", "Extra reading fields left out", ["reason"], registry=r
        )
        self.dead_letters = Counter(
            "campus_dead_letters", "Entries written to the dead-letter store", registry=r
        )
        self.dead_letters_dropped = Counter(
            "campus_dead_letters_dropped",
            "Refused inputs not kept because the dead-letter store was full",
            registry=r,
        )
        self.batches = Counter("campus_batches_written", "Batches written to InfluxDB", registry=r)
        self.write_errors = Counter(
            "campus_write_errors", "Failed InfluxDB writes", ["kind"], registry=r
        )
        self.write_seconds = Histogram(
            "campus_write_seconds",
            "InfluxDB write latency",
            registry=r,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.seq_gaps = Counter(
            "campus_seq_gap_envelopes",
            "Envelopes missing upstream (seq gaps)",
            ["gateway"],
            registry=r,
        )
        self.devices_untracked = Counter(
            "campus_devices_untracked",
            "Devices beyond limits.devices_per_gateway (readings stored, device not tracked)",
            ["gateway"],
            registry=r,
        )
        self.seq_resets = Counter(
            "campus_seq_resets",
            "Envelope numbers that jumped beyond any gap (a new buffer, or a forged seq)",
            ["gateway"],
            registry=r,
        )
        self.http_refused = Counter(
            "campus_http_refused",
            "HTTP requests refused by api limits (body_too_large, unauthenticated_body, "
            "body_timeout, header_timeout)",
            ["reason"],
            registry=r,
        )
        self.seq_repeats = Counter(
            "campus_seq_repeats", "Envelopes received again (redelivery)", ["gateway"], registry=r
        )
        self.queue_depth = Gauge(
            "campus_queue_depth",
            "Messages received but not yet spooled and acknowledged",
            registry=r,
        )
        self.spool_bytes = Gauge(
            "campus_spool_bytes", "Spooled bytes not yet written to InfluxDB", registry=r
        )
        self.mqtt_connected = Gauge("campus_mqtt_connected", "1 while connected", registry=r)
        self.influx_up = Gauge("campus_influx_up", "1 while the last write succeeded", registry=r)
        self.alerts_fired = Counter(
            "campus_alerts_fired", "Alerts that fired", ["rule", "severity"], registry=r
        )
        self.alerts_active = Gauge(
            "campus_alerts_active", "Alerts pending, firing or acknowledged", registry=r
        )
        self.late_readings = Counter(
            "campus_rule_late_readings",
            "Readings older than what the rules already saw (they change no condition)",
            registry=r,
        )
        self.readings_held = Gauge(
            "campus_readings_held_bytes",
            "Readings held in memory because the spool cannot take them (a full disk)",
            registry=r,
        )
        self.readings_lost = Counter(
            "campus_readings_lost",
            "Readings evaluated but not stored: the spool and spool.memory_mb were full",
            registry=r,
        )
        self.stage_age = Gauge(
            "campus_stage_age_seconds",
            "Age of each stage's oldest pending work (-1: cannot be read); see health",
            ["stage"],
            registry=r,
        )
        self.told_out_of_order = Counter(
            "campus_alerts_told_out_of_order",
            "Critical conditions seen only in a reading older than one already seen, told late",
            registry=r,
        )
        self.readings_ahead = Counter(
            "campus_readings_ahead",
            "Readings stamped more than 5 minutes ahead of the server's clock, by gateway",
            ["gateway"],
            registry=r,
        )
        self.stale_suppressed = Counter(
            "campus_alerts_suppressed_stale",
            "Pending alerts from backlog readings that cleared before the backlog caught up",
            registry=r,
        )
        self.notifications = Counter(
            "campus_notifications",
            "Notification attempts by channel and result (sent, retry, failed)",
            ["channel", "result"],
            registry=r,
        )
        self.notifications_coalesced = Counter(
            "campus_notifications_coalesced",
            "Notifications delivered as part of a digest (a storm, a rate limit)",
            ["channel"],
            registry=r,
        )
        self.notifications_waiting = Gauge(
            "campus_notifications_waiting", "Notifications not yet delivered", registry=r
        )

    def refused(self) -> dict[str, int]:
        """Counts of refused input since start: each rejection reason, and the limits'
        ``devices_untracked``, ``dead_letters_dropped`` and ``seq_resets``."""
        counts: dict[str, int] = {}
        for family in self.registry.collect():
            if family.name not in REFUSALS:
                continue
            label = REFUSALS[family.name]
            for sample in family.samples:
                if not sample.name.endswith("_total") or not sample.value:
                    continue
                key = sample.labels[label] if label else family.name.removeprefix("campus_")
                counts[key] = counts.get(key, 0) + int(sample.value)
        return counts
