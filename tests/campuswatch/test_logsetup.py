"""Log lines: one line per record whatever a device sent, times with their offset in the
campus's timezone, and libraries that are chatty at INFO kept quiet."""

from __future__ import annotations

import logging
import re

from campuswatch.logsetup import FORMAT, OneLineFormatter, configure_logging

MOMENT = 1_796_000_000.25  # 2026-11-30 08:53:20.250 in Shanghai, 00:53:20.250 UTC


def _line(formatter: OneLineFormatter, message: str) -> str:
    record = logging.LogRecord("ingest.x", logging.WARNING, __file__, 1, message, (), None)
    record.created = MOMENT
    return formatter.format(record)


def test_times_are_iso_with_the_campus_offset() -> None:
    line = _line(OneLineFormatter(FORMAT, "Asia/Shanghai"), "door open")
    assert line.startswith("2026-11-30T08:53:20.250+08:00 WARNING ingest.x: door open")


def test_without_a_timezone_the_machines_offset_is_written() -> None:
    line = _line(OneLineFormatter(FORMAT), "x")
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d ", line)


def test_a_forged_line_break_stays_on_one_line() -> None:
    line = _line(OneLineFormatter(FORMAT, "UTC"), "gw-1\n2026-11-29 ERROR fake")
    assert "\n" not in line
    assert "gw-1\\n2026" in line


def test_chatty_libraries_log_warnings_only() -> None:
    configure_logging("info", "Asia/Shanghai")
    for chatty in ("httpx", "matplotlib", "PIL"):
        assert logging.getLogger(chatty).getEffectiveLevel() == logging.WARNING
    assert logging.getLogger("matplotlib.font_manager").getEffectiveLevel() == logging.WARNING
