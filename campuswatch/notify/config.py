"""The channels both programs can tell people through (SPEC §5): one config class each."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from campuswatch.configfile import Port, Strict, Url
from campuswatch.durations import Duration


class WebhookChannelConfig(Strict):
    """POST the SPEC §5 JSON body to a URL."""

    type: Literal["webhook"]
    url: Url
    headers: dict[str, str] = Field(default_factory=dict)
    timeout: Duration = timedelta(seconds=10)


class WecomChannelConfig(Strict):
    """A WeCom (企业微信) group robot."""

    type: Literal["wecom"]
    url: Url
    mentioned_mobiles: list[str] = Field(default_factory=list)


class DingtalkChannelConfig(Strict):
    """A DingTalk (钉钉) group robot, optionally with a signing secret."""

    type: Literal["dingtalk"]
    url: Url
    secret: str | None = None
    at_mobiles: list[str] = Field(default_factory=list)


class FeishuChannelConfig(Strict):
    """A Feishu / Lark (飞书) group robot, optionally with a signing secret."""

    type: Literal["feishu"]
    url: Url
    secret: str | None = None


class EmailChannelConfig(Strict):
    """E-mail through an SMTP server."""

    type: Literal["email"]
    host: str
    port: Port = 587
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None
    password: str | None = None
    sender: Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+$")]
    to: list[Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+$")]] = Field(min_length=1)
    # A private CA for the SMTP server's certificate (default: the system's CAs).
    ca_file: Path | None = None
    timeout: Duration = timedelta(seconds=15)


# The channels a robot or mailbox reads (both programs send through these).
PeopleChannelConfig = Annotated[
    WebhookChannelConfig
    | WecomChannelConfig
    | DingtalkChannelConfig
    | FeishuChannelConfig
    | EmailChannelConfig,
    Field(discriminator="type"),
]
