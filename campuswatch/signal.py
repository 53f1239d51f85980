"""A small typed signal: the one way parts of a program tell each other that something
happened, without knowing who listens.

``connect`` returns the function that disconnects again (as Home Assistant's
``async_subscribe`` returns ``async_remove``), and ``emit`` calls every listener in the
order they connected, each in a ``try`` of its own: a failing listener is logged with
the signal's name and never stops the emitter or the listeners after it. That is the
loop boundary where a broad ``except`` belongs (a display that breaks must not stop
storage or alarms).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Generic, ParamSpec

log = logging.getLogger(__name__)

P = ParamSpec("P")


class Signal(Generic[P]):
    """Listeners of one kind of event, typed by the arguments they are called with."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._lock = threading.Lock()
        self._listeners: tuple[Callable[P, object], ...] = ()

    def connect(self, listener: Callable[P, object]) -> Callable[[], None]:
        """Call ``listener`` on every :meth:`emit`; returns the function that stops it."""
        with self._lock:
            self._listeners = (*self._listeners, listener)

        def disconnect() -> None:
            with self._lock:
                kept = list(self._listeners)
                if listener in kept:
                    kept.remove(listener)
                self._listeners = tuple(kept)

        return disconnect

    def emit(self, *args: P.args, **kwargs: P.kwargs) -> None:
        """Call every listener with these arguments (a failure is logged, not raised)."""
        for listener in self._listeners:  # a tuple: connecting meanwhile changes nothing here
            try:
                listener(*args, **kwargs)
            except Exception:
                log.exception("a listener of %s failed: %r", self.name, listener)

    @property
    def listeners(self) -> int:
        """How many listeners are connected (a signal is never "false": no ``__len__``)."""
        return len(self._listeners)
