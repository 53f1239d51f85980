"""A person's own contacts (SPEC §11): where ``notify: [on_duty]`` reaches them.

Kept beside the people in ``people.db`` (table ``contacts``); each is checked with a full
match, so nothing but a phone number, an address or an id reaches a robot's message.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from ingest.people.checks import PeopleError

SCHEMA = """
CREATE TABLE IF NOT EXISTS contacts (
    login TEXT PRIMARY KEY, phone TEXT NOT NULL DEFAULT '', email TEXT NOT NULL DEFAULT '',
    wecom_userid TEXT NOT NULL DEFAULT '', dingtalk_mobile TEXT NOT NULL DEFAULT ''
);
"""
_PATTERNS = {
    "phone": (re.compile(r"\+?[0-9][0-9 -]{4,19}"), "a phone number (digits, + - and spaces)"),
    "email": (
        re.compile(r"[^@\s<>\"',;]{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,24}"),
        "an e-mail address",
    ),
    "wecom_userid": (
        re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@-]{0,63}"),
        "a WeCom user id (letters, digits, _ . @ -; not @all)",
    ),
    "dingtalk_mobile": (re.compile(r"\+?[0-9]{5,20}"), "a mobile number (digits)"),
}


@dataclass(frozen=True, slots=True)
class Contacts:
    """How to reach one person; empty strings are "none"."""

    phone: str = ""
    email: str = ""
    wecom_userid: str = ""
    dingtalk_mobile: str = ""

    @classmethod
    def checked(cls, **values: str | None) -> Contacts:
        """Contacts from typed values (trimmed; PeopleError names the wrong one)."""
        clean: dict[str, str] = {}
        for key, value in values.items():
            text = (value or "").strip()
            pattern, what = _PATTERNS[key]
            if text and not pattern.fullmatch(text):
                raise PeopleError(f"{key} must be {what}, not {text[:80]!r}")
            clean[key] = text
        return cls(**clean)

    def as_row(self) -> tuple[str, str, str, str]:
        """The values in the table's column order."""
        return (self.phone, self.email, self.wecom_userid, self.dingtalk_mobile)

    def as_dict(self) -> dict[str, str]:
        """The contacts by name."""
        return asdict(self)


def mask_phone(phone: str) -> str:
    """``13812345678`` → ``138****5678`` (SPEC §11: all but admins see it masked)."""
    digits = phone.replace(" ", "").replace("-", "")
    if len(digits) < 7:
        return "*" * len(digits)
    return f"{digits[:3]}{'*' * (len(digits) - 7)}{digits[-4:]}"
