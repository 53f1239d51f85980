"""The hot-path benchmark (tests/bench/bench_hotpath.py) still measures what it says:
the real service's handler, each of its listeners, and the spool commit, on readings
that are new to the rules (not late ones, which take another path)."""

from __future__ import annotations

from pathlib import Path

from tests.bench.bench_hotpath import build_service, measure


def test_every_stage_is_measured_on_the_real_service(tmp_path: Path) -> None:
    service = build_service(tmp_path / "state")
    try:
        stored_before = service.spool.pending_bytes()
        stages = measure(service, 600, 2)  # 1,200 readings: each of the 500 fridges again
        late = service.metrics.registry.get_sample_value("campus_rule_late_readings_total")
        assert late == 0  # every run's readings are new: the rules' usual path is measured
        assert service.registry.device("sunshine-kg", "gw-bench", "fridge-0") is not None
        assert service.spool.pending_bytes() > stored_before  # the commit stage appended
    finally:
        service.spool.close()
        service.alert_store.close()
    assert {"listener RuleEngine.on_readings", "listener WorkOrders.on_readings"} <= set(stages)
    assert all(us > 0 for us in stages.values()), stages
    assert stages["handler, all of it"] > stages["decode + validate"]
