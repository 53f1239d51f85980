"""The handler's parsed topics: remembered for a gateway's repeating topics only, so a
flood of made-up or long topics costs a bounded, small cache and is refused as before."""

from __future__ import annotations

from pathlib import Path

import pytest

from campuswatch.clock import SystemClock
from ingest.metrics import Metrics
from ingest.pipeline import handler as handler_module
from ingest.pipeline.handler import MessageHandler
from ingest.registry import Registry

TOPICS_KEPT = 40


def test_only_repeating_topics_are_remembered_and_the_cache_stays_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(handler_module, "TOPICS_KEPT", TOPICS_KEPT)
    registry = Registry(tmp_path / "registry.json", SystemClock())
    handler = MessageHandler("campus", lambda _site: True, registry, Metrics(), SystemClock())
    for n in range(TOPICS_KEPT + 50):  # made-up channels, long ones, snapshots, extra levels
        for topic in (
            f"campus/s/gw-1/x{n}",
            f"campus/s/gw-1/readings/{n}",
            f"campus/s/gw-1/snapshots/cam/{n}",
            "campus/s/gw-1/" + "y" * 70_000 + str(n),
        ):
            outcome = handler.handle(topic, b"{}")
            assert topic.endswith("/cam/" + str(n)) or outcome.dead_letters, topic[:40]
    assert handler._topics == {}
    for n in range(TOPICS_KEPT + 50):
        handler.handle(f"campus/s/gw-{n}/status", b"")  # a gateway's topics: remembered
        assert 0 < len(handler._topics) <= TOPICS_KEPT
