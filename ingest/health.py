"""What is wrong with the service right now, in words: the ``problems`` of ``/api/health``.

Parts of the service report a problem under their own key when a write fails (the spool,
the alert database) and clear it when a write succeeds again; while any is reported the
service's status is ``degraded``.
"""

from __future__ import annotations

import logging
import threading

log = logging.getLogger(__name__)


class Problems:
    """Thread-safe problems by key (``readings``, ``alerts``, ...)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._problems: dict[str, str] = {}

    def report(self, key: str, reason: str) -> None:
        """``key`` has a problem (logged when it is new or changes)."""
        with self._lock:
            changed = self._problems.get(key) != reason
            self._problems[key] = reason
        if changed:
            log.error("health: %s: %s", key, reason)

    def clear(self, key: str) -> None:
        """``key`` works again."""
        with self._lock:
            gone = self._problems.pop(key, None)
        if gone is not None:
            log.warning("health: %s works again (was: %s)", key, gone)

    def current(self) -> list[str]:
        """Every problem as ``key: reason``."""
        with self._lock:
            return [f"{key}: {reason}" for key, reason in sorted(self._problems.items())]
