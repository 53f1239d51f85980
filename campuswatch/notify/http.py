"""HTTP channels: the plain webhook (SPEC §5 body) and the WeCom, DingTalk and Feishu
group robots, each in its documented message format and signing scheme."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import time
from typing import Any

import httpx

from campuswatch.notify.attachments import images, page, without_attachments
from campuswatch.notify.config import (
    DingtalkChannelConfig,
    FeishuChannelConfig,
    WebhookChannelConfig,
    WecomChannelConfig,
)
from campuswatch.notify.sender import ChannelError, ChannelRefused, Sender
from campuswatch.notify.words import say, severity_word

log = logging.getLogger(__name__)

WECOM_IMAGE_MAX = 2 << 20  # 图片（base64编码前）最大不能超过2M
# Robot error codes that mean "too many messages, slow down" rather than "never".
_RATE_LIMITED = {45009, 130101, 9499, 11232}
# Markdown a device's name or tags could carry into a robot message (a heading, a link,
# WeCom's <font> tags; names are one line, see DeviceInfo) is shown as the full-width
# look-alike characters instead: the robots' Markdown has no escape that all clients
# honour. "://" is broken for the same reason (clients turn bare URLs into links); only
# the links we add stay links.
_MARKDOWN = str.maketrans(
    {
        "#": "＃",
        "*": "＊",
        "_": "＿",
        "[": "［",
        "]": "］",
        "(": "（",
        ")": "）",
        "`": "｀",
        ">": "＞",
        "<": "＜",
        "!": "！",
        "~": "～",
        "|": "｜",
        "\\": "＼",
    }
)


def mentions(body: dict[str, Any], key: str) -> list[str]:
    """Whom the notification must @-mention (``mention.mobiles`` or ``mention.userids``,
    added for the people on duty: see ingest/duty/routing.py)."""
    mention = body.get("mention")
    values = mention.get(key, []) if isinstance(mention, dict) else []
    return [v for v in values if isinstance(v, str)]


def _merged(*lists: list[str]) -> list[str]:
    return list(dict.fromkeys(v for values in lists for v in values))


def escape_markdown(text: str) -> str:
    """``text`` shown as itself in a WeCom or DingTalk Markdown message."""
    return text.translate(_MARKDOWN).replace("://", "：//")


class HttpSender:
    """POST JSON to a URL and check both the HTTP status and the robot's error code."""

    per_minute: int | None = None  # a webhook is a machine: every notification, at once
    digests = False

    def __init__(self, url: str, headers: dict[str, str] | None = None, timeout: float = 10.0):
        self.url = url
        self._client = httpx.Client(headers=headers, timeout=httpx.Timeout(timeout, connect=5.0))

    def payload(self, body: dict[str, Any]) -> dict[str, Any]:
        """The JSON document this channel posts (a report's page and table left out)."""
        return without_attachments(body)

    def target(self) -> str:
        """The URL to post to (robots add signatures)."""
        return self.url

    def send(self, body: dict[str, Any], delivery_id: str) -> None:
        """POST the payload; translate transport and API errors."""
        self.post(self.payload(body), delivery_id)

    def post(self, document: dict[str, Any], delivery_id: str) -> None:
        """POST one JSON document and check the answer."""
        try:
            response = self._client.post(
                self.target(),
                json=document,
                headers={"X-Campuswatch-Delivery": delivery_id},
            )
        except httpx.HTTPError as exc:
            raise ChannelError(f"{type(exc).__name__}: {exc}") from exc
        status = response.status_code
        if status == 429 or status >= 500:
            raise ChannelError(f"HTTP {status}: {response.text[:200]}")
        if status >= 400:
            raise ChannelRefused(f"HTTP {status}: {response.text[:200]}")
        self.check_answer(response)

    def check_answer(self, response: httpx.Response) -> None:
        """Robots answer 200 with an error code in the body."""
        try:
            answer = response.json()
        except ValueError:
            return
        if not isinstance(answer, dict):
            return
        code = answer.get("errcode", answer.get("code", answer.get("StatusCode", 0)))
        if code in (0, None):
            return
        message = answer.get("errmsg") or answer.get("msg") or answer
        if code in _RATE_LIMITED:
            raise ChannelError(f"rate limited (code {code}): {message}")
        raise ChannelRefused(f"robot refused the message (code {code}): {message}")

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()


class WecomSender(HttpSender):
    """WeCom (企业微信) group robot: markdown, or text when mobiles are to be mentioned."""

    per_minute = 20  # 每个机器人发送的消息不能超过 20 条/分钟 (WeCom group robot docs)
    digests = True

    def __init__(self, channel: WecomChannelConfig, lang: str) -> None:
        super().__init__(channel.url)
        self.mobiles = channel.mentioned_mobiles
        self.lang = lang

    def payload(self, body: dict[str, Any]) -> dict[str, Any]:
        """WeCom message JSON; mentions (the channel's, and the people on duty's user ids)
        need the text type: the robot's markdown cannot @-mention."""
        mobiles = _merged(self.mobiles, mentions(body, "mobiles"))
        userids = mentions(body, "userids")
        if mobiles or userids:
            text: dict[str, Any] = {"content": _plain(body, self.lang)}
            if mobiles:
                text["mentioned_mobile_list"] = mobiles
            if userids:
                text["mentioned_list"] = userids
            return {"msgtype": "text", "text": text}
        return {"msgtype": "markdown", "markdown": {"content": _markdown(body, self.lang)}}

    def send(self, body: dict[str, Any], delivery_id: str) -> None:
        """The message, then a report's charts as ``image`` messages (base64 + MD5).

        The charts are a bonus: the figures and the link are already delivered, so a
        chart that fails is logged rather than retried (which would repeat the message).
        """
        super().send(body, delivery_id)
        html = page(body)
        for png in images(html) if html else []:
            if len(png) > WECOM_IMAGE_MAX:
                log.warning(
                    "WeCom: a %d-byte chart is over the 2 MB image limit, not sent", len(png)
                )
                continue
            image = {"base64": base64.b64encode(png).decode(), "md5": hashlib.md5(png).hexdigest()}  # noqa: S324 (WeCom's checksum)
            try:
                self.post({"msgtype": "image", "image": image}, delivery_id)
            except ChannelError as exc:
                log.warning("WeCom: chart of %r not sent: %s", body.get("title"), exc)


class DingtalkSender(HttpSender):
    """DingTalk (钉钉) group robot: markdown, signed when a secret is set."""

    per_minute = 20  # 每个机器人每分钟最多发送 20 条, else blocked for 10 minutes
    digests = True

    def __init__(self, channel: DingtalkChannelConfig, lang: str) -> None:
        super().__init__(channel.url)
        self.secret = channel.secret
        self.mobiles = channel.at_mobiles
        self.lang = lang

    def target(self) -> str:
        """Add ``timestamp`` (ms) and ``sign`` = base64(HMAC-SHA256(secret, ts\\nsecret))."""
        if not self.secret:
            return self.url
        timestamp = str(int(time.time() * 1000))
        signature = dingtalk_sign(self.secret, timestamp)
        separator = "&" if "?" in self.url else "?"
        query = httpx.QueryParams({"timestamp": timestamp, "sign": signature})
        return f"{self.url}{separator}{query}"

    def payload(self, body: dict[str, Any]) -> dict[str, Any]:
        """DingTalk message JSON (a mention must also appear in the text)."""
        text = _markdown(body, self.lang)
        mobiles = _merged(self.mobiles, mentions(body, "mobiles"))
        if mobiles:
            text += "\n\n" + " ".join(f"@{m}" for m in mobiles)
        return {
            "msgtype": "markdown",
            "markdown": {"title": escape_markdown(body["title"]), "text": text},
            "at": {"atMobiles": mobiles, "isAtAll": False},
        }


class FeishuSender(HttpSender):
    """Feishu / Lark (飞书) group robot: text, signed when a secret is set."""

    per_minute = 100  # 自定义机器人 100 次/分钟, 5 次/秒
    digests = True

    def __init__(self, channel: FeishuChannelConfig, lang: str) -> None:
        super().__init__(channel.url)
        self.secret = channel.secret
        self.lang = lang

    def payload(self, body: dict[str, Any]) -> dict[str, Any]:
        """Feishu message JSON with ``timestamp`` (s) and ``sign`` when signing."""
        message: dict[str, Any] = {
            "msg_type": "text",
            "content": {"text": _plain(body, self.lang)},
        }
        if self.secret:
            timestamp = str(int(time.time()))
            message.update(timestamp=timestamp, sign=feishu_sign(self.secret, timestamp))
        return message


def dingtalk_sign(secret: str, timestamp: str) -> str:
    """DingTalk's signature: HMAC-SHA256 keyed by the secret over ``timestamp\\nsecret``."""
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256)
    return base64.b64encode(digest.digest()).decode()


def feishu_sign(secret: str, timestamp: str) -> str:
    """Feishu's signature: HMAC-SHA256 keyed by ``timestamp\\nsecret`` over nothing."""
    digest = hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256)
    return base64.b64encode(digest.digest()).decode()


def _plain(body: dict[str, Any], lang: str) -> str:
    text = f"{body['title']}\n{body['message']}"
    if body.get("ack_url"):
        text += f"\n{say('label.ack', lang)}: {body['ack_url']}"
    return text


def _markdown(body: dict[str, Any], lang: str) -> str:
    severity = severity_word(body["severity"], lang)
    message = escape_markdown(body["message"])
    for key in ("snapshot_url", "url"):  # our own links in the message stay links
        if body.get(key):
            link = f"[{say('label.open', lang)}]({body[key]})"
            message = message.replace(escape_markdown(body[key]), link)
    text = (
        f"### {escape_markdown(body['title'])}\n{message}\n\n"
        f"> {say('label.severity', lang)}: {severity}\n"
        f"> {say('label.since', lang)}: {body['started_at']}"
    )
    if body.get("ack_url"):
        text += f"\n\n[{say('label.ack', lang)}]({body['ack_url']})"
    return text


def make_http_sender(
    channel: WebhookChannelConfig
    | WecomChannelConfig
    | DingtalkChannelConfig
    | FeishuChannelConfig,
    lang: str,
) -> Sender:
    """The sender for an HTTP channel."""
    if isinstance(channel, WebhookChannelConfig):
        return HttpSender(channel.url, channel.headers, channel.timeout.total_seconds())
    if isinstance(channel, WecomChannelConfig):
        return WecomSender(channel, lang)
    if isinstance(channel, DingtalkChannelConfig):
        return DingtalkSender(channel, lang)
    return FeishuSender(channel, lang)
