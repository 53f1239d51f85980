"""The core's typed signal: listeners in order, disconnect, and a failing listener that
stops neither the emitter nor the listeners after it."""

from __future__ import annotations

import logging

import pytest

from campuswatch.signal import Signal


def test_listeners_are_called_in_order_until_disconnected() -> None:
    heard: list[tuple[str, int]] = []
    signal: Signal[[int]] = Signal("numbers")
    first = signal.connect(lambda n: heard.append(("first", n)))
    signal.connect(lambda n: heard.append(("second", n)))
    signal.emit(1)
    first()
    first()  # again: harmless
    signal.emit(2)
    assert heard == [("first", 1), ("second", 1), ("second", 2)]
    assert signal.listeners == 1


def test_a_failing_listener_is_logged_and_the_rest_still_hear(
    caplog: pytest.LogCaptureFixture,
) -> None:
    heard: list[str] = []
    signal: Signal[[str]] = Signal("words")

    def broken(_word: str) -> None:
        raise RuntimeError("display broke")

    signal.connect(broken)
    signal.connect(heard.append)
    with caplog.at_level(logging.ERROR):
        signal.emit("smoke")  # does not raise
    assert heard == ["smoke"]
    assert "a listener of words failed" in caplog.text
    assert "display broke" in caplog.text


def test_a_listener_connected_during_an_emit_hears_the_next_one() -> None:
    heard: list[str] = []
    signal: Signal[[]] = Signal("ticks")
    signal.connect(lambda: signal.connect(lambda: heard.append("late")))
    signal.emit()
    assert heard == []
    signal.emit()
    assert heard == ["late"]
