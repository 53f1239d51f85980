"""The sender of a channel people read (both programs; the service adds its own kinds)."""

from __future__ import annotations

from campuswatch.notify.config import EmailChannelConfig, PeopleChannelConfig
from campuswatch.notify.email import EmailSender
from campuswatch.notify.http import make_http_sender
from campuswatch.notify.sender import Sender


def people_sender(channel: PeopleChannelConfig, lang: str) -> Sender:
    """The sender of a webhook, WeCom, DingTalk, Feishu or e-mail channel."""
    if isinstance(channel, EmailChannelConfig):
        return EmailSender(channel, lang)
    return make_http_sender(channel, lang)
