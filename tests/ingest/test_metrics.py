"""The hot path's counters (plain numbers added to by the MQTT thread) are served as
Prometheus counters like the others: names, labels, values, in the same registry."""

from __future__ import annotations

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from ingest.metrics import Metrics


def test_hot_counters_are_scraped_as_counters() -> None:
    metrics = Metrics()
    metrics.messages.labels("readings").inc()
    metrics.messages.labels("readings").inc()
    metrics.messages.labels("other").inc()
    metrics.readings_accepted.inc(50)
    families = {
        f.name: f
        for f in text_string_to_metric_families(generate_latest(metrics.registry).decode())
    }
    assert families["campus_messages_received"].type == "counter"
    by_channel = {
        s.labels["channel"]: s.value for s in families["campus_messages_received"].samples
    }
    assert by_channel == {
        "readings": 2,
        "meta": 0,
        "status": 0,
        "edge": 0,
        "snapshots": 0,
        "other": 1,
    }
    assert metrics.registry.get_sample_value("campus_readings_accepted_total") == 50
