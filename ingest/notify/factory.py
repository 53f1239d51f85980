"""Build the sender of each configured channel."""

from __future__ import annotations

from campuswatch.notify.factory import people_sender
from campuswatch.notify.sender import LogSender, Sender
from ingest.config.channels import ChannelConfig, LogChannelConfig, MqttChannelConfig
from ingest.notify.mqtt import Broker, MqttSender


def make_sender(name: str, channel: ChannelConfig, broker: Broker, lang: str) -> Sender:
    """The sender of one configured channel (``broker``: the service's MQTT connection)."""
    if isinstance(channel, MqttChannelConfig):
        return MqttSender(channel, broker)
    if isinstance(channel, LogChannelConfig):
        return LogSender(name)
    return people_sender(channel, lang)


def make_senders(
    channels: dict[str, ChannelConfig], broker: Broker, lang: str
) -> dict[str, Sender]:
    """Senders of every configured channel by name."""
    return {name: make_sender(name, channel, broker, lang) for name, channel in channels.items()}
