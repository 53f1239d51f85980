"""``notify: [on_duty]`` (SPEC §4, §11): the people on duty now, each through their own
contact, decided when the notification is queued (who was on duty when it fired).

``on_duty`` becomes the channels of ``duty.contacts`` with parts for their senders: the
WeCom robot @-mentions ``mention.userids``, the DingTalk robot ``mention.mobiles``, the
e-mail goes to ``to``. When nobody on duty has a usable contact (an empty shift, no
shift now, nobody with a contact) it becomes ``duty.fallback``. A channel the rule names
itself as well gets one message, with the mentions added.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from campuswatch.notify.config import EmailChannelConfig
from ingest.config.channels import ChannelConfig
from ingest.config.duty import DutyConfig
from ingest.config.loader import ON_DUTY
from ingest.duty.roster import DutyNow
from ingest.health import Problems
from ingest.people.contacts import Contacts

log = logging.getLogger(__name__)

Routed = list[tuple[str, dict[str, Any]]]  # (channel, parts to add to the body)


class OnDutyRouter:
    """Turns ``on_duty`` in a list of channels into real channels and their recipients."""

    def __init__(
        self,
        config: DutyConfig,
        channels: dict[str, ChannelConfig],
        now: Callable[[], DutyNow],
        contacts: Callable[[list[str]], dict[str, Contacts]],
        problems: Problems,
    ) -> None:
        self.config = config
        self.channels = channels
        self.now = now
        self.contacts = contacts
        self.problems = problems

    def route(self, names: Sequence[str]) -> Routed:
        """``names`` with ``on_duty`` replaced; others pass unchanged (empty parts)."""
        plain = [n for n in names if n != ON_DUTY]
        routed: dict[str, dict[str, Any]] = {n: {} for n in plain}
        if ON_DUTY not in names:
            return list(routed.items())
        try:
            reached = self._reach([p.login for p in self.now().people], routed, plain)
        except Exception:  # the roster or the people file failed: the fallback is told
            log.exception("on_duty: the people on duty could not be read")
            reached = False
        if reached:
            self.problems.clear("on_duty")
        else:
            log.warning("on_duty: nobody on duty can be reached now; told %s", self.config.fallback)
            self.problems.report(
                "on_duty",
                "nobody on duty could be reached (an empty shift, or no contact):"
                " alarms went to duty.fallback",
            )
            for name in self.config.fallback:
                routed.setdefault(name, {})
        return list(routed.items())

    def to_people(self, logins: list[str]) -> Routed:
        """The channels that reach these people through their own contacts (a reminder of
        their shift); empty when none of them has a usable contact."""
        routed: dict[str, dict[str, Any]] = {}
        self._reach(logins, routed, [])
        return list(routed.items())

    def _reach(
        self, people: list[str], routed: dict[str, dict[str, Any]], plain: list[str]
    ) -> bool:
        """Add each person's contact to ``routed``; whether anyone is reached."""
        by_login = self.contacts(people) if people else {}
        wanted = self.config.contacts
        reached = False
        for login in people:
            contact = by_login.get(login)
            if contact is None:
                continue
            for channel, key, value in (
                (wanted.wecom, "userids", contact.wecom_userid),
                (wanted.dingtalk, "mobiles", contact.dingtalk_mobile),
            ):
                if channel and value:
                    mention = routed.setdefault(channel, {}).setdefault("mention", {})
                    mention.setdefault(key, []).append(value)
                    reached = True
            if wanted.email and contact.email:
                parts = routed.setdefault(wanted.email, {})
                parts.setdefault("to", self._base_to(wanted.email, plain)).append(contact.email)
                reached = True
        return reached

    def _base_to(self, channel: str, plain: list[str]) -> list[str]:
        """A channel the rule names itself keeps its own recipients too."""
        config = self.channels.get(channel)
        if channel in plain and isinstance(config, EmailChannelConfig):
            return list(config.to)
        return []
