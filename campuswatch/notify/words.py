"""The words a channel puts beside a notification's message, in Chinese and English."""

from __future__ import annotations

from campuswatch.i18n import Catalogue

WORDS = Catalogue(
    {
        "label.severity": ("级别", "Severity"),
        "label.since": ("开始", "Since"),
        "label.device": ("设备", "Device"),
        "label.rule": ("规则", "Rule"),
        "label.snapshot": ("快照", "snapshot"),
        "label.ack": ("手机确认", "Acknowledge"),
        "label.open": ("打开", "open"),
        "severity.info": ("提示", "info"),
        "severity.warning": ("警告", "warning"),
        "severity.critical": ("紧急", "critical"),
    }
)


def say(key: str, lang: str, /, **values: object) -> str:
    """Channel text ``key`` in ``lang``."""
    return WORDS.say(key, lang, **values)


def severity_word(severity: str, lang: str) -> str:
    """``critical`` → ``紧急``."""
    key = f"severity.{severity}"
    return say(key, lang) if key in WORDS else severity
