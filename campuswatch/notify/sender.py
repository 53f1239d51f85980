"""The one interface every notification channel implements (``factory.py`` builds them)."""

from __future__ import annotations

import logging
from typing import Any, Protocol

from campuswatch.errors import CampuswatchError

log = logging.getLogger(__name__)


class ChannelError(CampuswatchError):
    """Delivery failed for now (network, timeout, 5xx, rate limit): retry later."""


class ChannelRefused(ChannelError):
    """The channel refused the message (4xx, bad signature): retrying will not help."""


class Sender(Protocol):
    """Delivers one notification body (SPEC §5) to one channel.

    ``per_minute``: the most messages the channel takes in a minute (a robot's documented
    limit), None for no limit; ``digests``: whether people read it, so that a storm goes
    as one digest rather than a thousand messages.
    """

    @property
    def per_minute(self) -> int | None:
        """The channel's rate limit in messages per minute (None: none)."""
        ...

    @property
    def digests(self) -> bool:
        """Whether a storm is sent as one digest."""
        ...

    def send(self, body: dict[str, Any], delivery_id: str) -> None:
        """Deliver or raise ChannelError / ChannelRefused."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


class LogSender:
    """Writes notifications to the service log."""

    per_minute = None
    digests = False

    def __init__(self, name: str) -> None:
        self.name = name

    def send(self, body: dict[str, Any], delivery_id: str) -> None:
        """Log the title and message."""
        log.warning("[%s #%s] %s — %s", self.name, delivery_id, body["title"], body["message"])

    def close(self) -> None:
        """Nothing to release."""
