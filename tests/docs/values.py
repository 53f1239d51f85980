"""Values an install would put in the example files' ``${VARIABLES}``."""

from __future__ import annotations

SAMPLE_VALUES = {
    "_PORT": "1883",
    "_URL": "https://example.invalid/hook",
    "_SITE": "sunshine-kg",
    "_HOST": "127.0.0.1",
    "_DIR": "/etc/campuswatch/tls",
}


def plausible(variable: str) -> str:
    """A value the install would put in ``variable`` (the files' secrets and addresses)."""
    for suffix, value in SAMPLE_VALUES.items():
        if variable.endswith(suffix):
            return value
    return "a-secret-of-the-campus-0123456789"
