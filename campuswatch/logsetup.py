"""Logging to stderr for the command-line programs, one line per record."""

from __future__ import annotations

import logging
import re
from datetime import datetime
from zoneinfo import ZoneInfo

from campuswatch.protocol.kinds import UNSAFE_TEXT_RE

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
# Line breaks and other control characters a device put into a topic, a JSON key or a
# name would start a forged log line; they are written as escapes (\n, \x1b) instead.
_CONTROL = UNSAFE_TEXT_RE


def _escape(match: re.Match[str]) -> str:
    return repr(match.group())[1:-1]


class OneLineFormatter(logging.Formatter):
    """Formats the message with its control characters escaped (tracebacks stay as they
    are: they come from our code, not from outside) and its time as ISO 8601 with the
    offset, in ``timezone`` (the campus's: the time the console shows), else the
    machine's."""

    def __init__(self, fmt: str, timezone: str | None = None) -> None:
        super().__init__(fmt)
        self.tz = ZoneInfo(timezone) if timezone else None

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        when = datetime.fromtimestamp(record.created, self.tz)
        return (when if self.tz else when.astimezone()).isoformat(timespec="milliseconds")

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        record.message = _CONTROL.sub(_escape, record.message)
        return super().formatMessage(record)


def configure_logging(level: str = "info", timezone: str | None = None) -> None:
    """Log ``level`` and above to stderr with timestamps (in ``timezone``, with their
    offset) and logger names."""
    handler = logging.StreamHandler()
    handler.setFormatter(OneLineFormatter(FORMAT, timezone))
    logging.basicConfig(level=level.upper(), handlers=[handler])
    # Libraries chatty at INFO (httpx: every request; matplotlib: font lookups while a
    # report is drawn); their problems surface through our own logs.
    for chatty in ("httpx", "matplotlib", "PIL"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    # pymodbus logs every unanswered request as an error; the bus source reports a dead
    # meter once, with its device id, and counts every failed poll.
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
