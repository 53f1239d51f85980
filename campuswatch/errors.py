"""The base exception of every campuswatch package, and the config error they share."""

from __future__ import annotations


class CampuswatchError(Exception):
    """Base of every error campuswatch raises on purpose (each package derives its own)."""


class ConfigError(CampuswatchError):
    """A config file is missing, unreadable or invalid.

    ``problems`` lists every problem as ``FILE: key.path: reason``.
    """

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems
