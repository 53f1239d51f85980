"""How often a channel may be sent to: a token bucket that never exceeds a robot's
documented limit in any minute (WeCom and DingTalk: 20 messages a minute per robot,
DingTalk then blocks the robot for 10 minutes; Feishu: 100 a minute)."""

from __future__ import annotations

from campuswatch.clock import Clock


class RateLimit:
    """At most ``per_minute`` sends in any 60 s: a bucket of half of them, refilled at
    half the rate, so a burst gets out at once and a storm gets one message every
    ``120 / per_minute`` s (6 s for WeCom), never a blocked robot."""

    def __init__(self, per_minute: int, clock: Clock) -> None:
        self.capacity = max(1.0, per_minute / 2)
        self.refill_per_s = self.capacity / 60
        self.clock = clock
        self._tokens = self.capacity
        self._at = clock.time()

    def wait_s(self) -> float:
        """Seconds until a send is allowed (0: now)."""
        self._refill()
        return 0.0 if self._tokens >= 1 else (1 - self._tokens) / self.refill_per_s

    def take(self) -> None:
        """Count one send."""
        self._refill()
        self._tokens -= 1

    def _refill(self) -> None:
        now = self.clock.time()
        self._tokens = min(self.capacity, self._tokens + (now - self._at) * self.refill_per_s)
        self._at = now
