"""Logging to stderr for the command-line programs, one line per record."""

from __future__ import annotations

import logging
import re

from campuswatch.protocol.kinds import UNSAFE_TEXT_RE

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
# Line breaks and other control characters a device put into a topic, a JSON key or a
# name would start a forged log line; they are written as escapes (\n, \x1b) instead.
_CONTROL = UNSAFE_TEXT_RE


def _escape(match: re.Match[str]) -> str:
    return repr(match.group())[1:-1]


class OneLineFormatter(logging.Formatter):
    """Formats the message with its control characters escaped; tracebacks stay as they
    are (they come from our code, not from outside)."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        record.message = _CONTROL.sub(_escape, record.message)
        return super().formatMessage(record)


def configure_logging(level: str = "info") -> None:
    """Log ``level`` and above to stderr with timestamps and logger names."""
    handler = logging.StreamHandler()
    handler.setFormatter(OneLineFormatter(FORMAT))
    logging.basicConfig(level=level.upper(), handlers=[handler])
    # paho and httpx are chatty at INFO; their problems surface through our own logs.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # pymodbus logs every unanswered request as an error; the bus source reports a dead
    # meter once, with its device id, and counts every failed poll.
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
