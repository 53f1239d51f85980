"""Logging to stderr for the command-line programs."""

from __future__ import annotations

import logging


def configure_logging(level: str = "info") -> None:
    """Log ``level`` and above to stderr with timestamps and logger names."""
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    # paho and httpx are chatty at INFO; their problems surface through our own logs.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # pymodbus logs every unanswered request as an error; the bus source reports a dead
    # meter once, with its device id, and counts every failed poll.
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
