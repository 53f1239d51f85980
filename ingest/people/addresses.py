"""Login attempts per client address, limited before any password is hashed.

The per-login throttle (``store.py``) stops guessing one account; this stops one address
from trying many accounts, or from keeping the password hashing busy, at little cost: a
sliding window of attempt times per address, kept in memory (a restart forgets it; the
per-login counts are durable).
"""

from __future__ import annotations

import threading
from collections import deque

from campuswatch.clock import Clock

MAX_ADDRESSES = 10_000  # beyond this the oldest addresses are forgotten


class AddressLimiter:
    """At most ``attempts`` per ``window_s`` seconds from each address; thread-safe."""

    def __init__(self, clock: Clock, attempts: int = 20, window_s: float = 60.0) -> None:
        self.clock = clock
        self.attempts = attempts
        self.window_s = window_s
        self._lock = threading.Lock()
        self._seen: dict[str, deque[float]] = {}

    def wait_s(self, address: str) -> int:
        """0 and the attempt is counted, or the seconds to wait before the next one."""
        now = self.clock.time()
        with self._lock:
            times = self._seen.pop(address, None) or deque()
            while times and times[0] <= now - self.window_s:
                times.popleft()
            self._seen[address] = times  # most recently used last
            if len(times) >= self.attempts:
                return max(1, int(times[0] + self.window_s - now + 0.999))
            times.append(now)
            if len(self._seen) > MAX_ADDRESSES:
                del self._seen[next(iter(self._seen))]
            return 0
