"""Capped exponential backoff with half jitter, for reconnects and retries."""

from __future__ import annotations

import random


class Backoff:
    """Delays of ``base * 2**n`` capped at ``cap``, each drawn uniformly from its upper half.

    Half jitter keeps retries from many clients apart while never retrying sooner than
    half the nominal delay.
    """

    def __init__(self, base: float = 0.5, cap: float = 30.0, rng: random.Random | None = None):
        self.base = base
        self.cap = cap
        self.failures = 0
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography

    def next_delay(self) -> float:
        """Record a failure and return how long to wait before the next try."""
        nominal = min(self.cap, self.base * 2.0 ** min(self.failures, 30))
        self.failures += 1
        return nominal / 2 + self._rng.uniform(0, nominal / 2)

    def reset(self) -> None:
        """Record a success: the next failure starts from ``base`` again."""
        self.failures = 0
