"""Where notifications go (SPEC §5): one config class per channel type (those a gateway
can use too are in campuswatch/notify/config.py)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from campuswatch.configfile import Strict
from campuswatch.notify.config import (
    DingtalkChannelConfig,
    EmailChannelConfig,
    FeishuChannelConfig,
    WebhookChannelConfig,
    WecomChannelConfig,
)


class MqttChannelConfig(Strict):
    """Publish to an MQTT topic (sirens, LED signs)."""

    type: Literal["mqtt"]
    topic: Annotated[str, StringConstraints(min_length=1, pattern=r"^[^#+]+$")]
    qos: Literal[0, 1, 2] = 1
    retain: bool = False


class LogChannelConfig(Strict):
    """Write notifications to the service log."""

    type: Literal["log"]


ChannelConfig = Annotated[
    WebhookChannelConfig
    | WecomChannelConfig
    | DingtalkChannelConfig
    | FeishuChannelConfig
    | EmailChannelConfig
    | MqttChannelConfig
    | LogChannelConfig,
    Field(discriminator="type"),
]
