"""Build the sender of each configured channel."""

from __future__ import annotations

from ingest.config.schema import (
    ChannelConfig,
    EmailChannelConfig,
    LogChannelConfig,
    MqttChannelConfig,
    MqttConfig,
)
from ingest.notify.channels import LogSender, Sender
from ingest.notify.email import EmailSender
from ingest.notify.http import make_http_sender
from ingest.notify.mqtt import MqttSender


def make_sender(name: str, channel: ChannelConfig, mqtt: MqttConfig, lang: str) -> Sender:
    """The sender of one configured channel."""
    if isinstance(channel, EmailChannelConfig):
        return EmailSender(channel, lang)
    if isinstance(channel, MqttChannelConfig):
        return MqttSender(name, channel, mqtt)
    if isinstance(channel, LogChannelConfig):
        return LogSender(name)
    return make_http_sender(channel, lang)


def make_senders(
    channels: dict[str, ChannelConfig], mqtt: MqttConfig, lang: str
) -> dict[str, Sender]:
    """Senders of every configured channel by name."""
    return {name: make_sender(name, channel, mqtt, lang) for name, channel in channels.items()}
