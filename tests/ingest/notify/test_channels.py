"""Each channel against a real receiver: HTTP robots, SMTP and the MQTT broker."""

from __future__ import annotations

import threading
import time
from email.header import decode_header, make_header
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from campuswatch.notify.config import (
    DingtalkChannelConfig,
    EmailChannelConfig,
    FeishuChannelConfig,
    WecomChannelConfig,
)
from campuswatch.notify.email import EmailSender
from campuswatch.notify.http import (
    DingtalkSender,
    FeishuSender,
    HttpSender,
    WecomSender,
    dingtalk_sign,
    feishu_sign,
)
from campuswatch.notify.sender import ChannelError, ChannelRefused
from demo.services import MosquittoServer, free_port
from ingest.app import IngestService
from ingest.config import IngestConfig
from ingest.config.places import Places
from ingest.rules.alert_text import notification_body
from ingest.rules.model import Alert
from tests.harness import Publisher, envelope, reading, unique, wait_for
from tests.receivers import http_receiver, self_signed_cert, smtp_receiver

SPEC_KEYS = {
    "alert_id",
    "rule",
    "device",
    "site",
    "severity",
    "state",
    "title",
    "message",
    "value",
    "started_at",
    "tags",
}


def sample_body(state: str = "firing") -> dict[str, Any]:
    alert = Alert(
        rule="fridge-warm",
        site="sunshine-kg",
        gateway="gw-canteen",
        device="fridge-1",
        kind="temperature",
        severity="critical",
        state="firing",
        since_ms=1_795_459_200_000,
        title="温度超限",
        field="celsius",
        value=9.5,
        tags={"building": "食堂", "room": "冷库"},
        name="冷藏柜1",
        id=7,
    )
    return notification_body(
        alert,
        state,  # type: ignore[arg-type]
        lang="zh",
        timezone="Asia/Shanghai",
        places=Places(),
        now_ms=1_795_459_200_000 + 900_000,
    )


def test_webhook_posts_the_spec_body() -> None:
    with http_receiver() as receiver:
        sender = HttpSender(receiver.url())
        sender.send(sample_body(), delivery_id="41")
        sender.close()
    [request] = receiver.requests
    assert set(request.body) >= SPEC_KEYS
    assert request.body["message"] == "温度超限：食堂 冷库 冷藏柜1，当前 9.5℃，已持续 15 分钟"
    assert request.body["started_at"] == "2026-11-24T02:40:00+08:00"
    assert request.headers["x-campuswatch-delivery"] == "41"


def test_wecom_markdown_and_mentions() -> None:
    with http_receiver() as receiver:
        plain = WecomSender(WecomChannelConfig(type="wecom", url=receiver.url()), "zh")
        plain.send(sample_body(), "1")
        mention = WecomSender(
            WecomChannelConfig(type="wecom", url=receiver.url(), mentioned_mobiles=["13800000000"]),
            "zh",
        )
        mention.send(sample_body(), "2")
    first, second = (r.body for r in receiver.requests)
    assert first["msgtype"] == "markdown"
    assert first["markdown"]["content"].startswith("### 温度超限\n温度超限：食堂 冷库 冷藏柜1")
    assert "级别: 紧急" in first["markdown"]["content"]
    assert second == {
        "msgtype": "text",
        "text": {
            "content": "温度超限\n温度超限：食堂 冷库 冷藏柜1，当前 9.5℃，已持续 15 分钟",
            "mentioned_mobile_list": ["13800000000"],
        },
    }


def test_dingtalk_signs_the_request() -> None:
    secret = "SEC0123456789abcdef"
    with http_receiver() as receiver:
        url = receiver.url("/robot/send") + "?access_token=abc"
        channel = DingtalkChannelConfig(type="dingtalk", url=url, secret=secret, at_mobiles=["139"])
        DingtalkSender(channel, "zh").send(sample_body(), "1")
    [request] = receiver.requests
    assert request.query["access_token"] == "abc"
    # The receiver checks the signature the way DingTalk does.
    assert request.query["sign"] == dingtalk_sign(secret, request.query["timestamp"])
    assert request.body["msgtype"] == "markdown"
    assert request.body["markdown"]["title"] == "温度超限"
    assert request.body["markdown"]["text"].endswith("@139")
    assert request.body["at"] == {"atMobiles": ["139"], "isAtAll": False}


def test_feishu_signs_the_body() -> None:
    with http_receiver() as receiver:
        receiver.answer = {"code": 0, "msg": "success"}
        channel = FeishuChannelConfig(type="feishu", url=receiver.url(), secret="feishu-secret")
        FeishuSender(channel, "zh").send(sample_body("resolved"), "1")
    [request] = receiver.requests
    body = request.body
    assert body["msg_type"] == "text"
    assert body["content"]["text"].startswith("【已恢复】温度超限\n")
    assert body["sign"] == feishu_sign("feishu-secret", body["timestamp"])


@pytest.mark.parametrize(
    ("status", "answer", "error"),
    [
        (503, {}, ChannelError),
        (429, {}, ChannelError),
        (404, {}, ChannelRefused),
        (200, {"errcode": 310000, "errmsg": "sign not match"}, ChannelRefused),
        (200, {"errcode": 130101, "errmsg": "send too fast"}, ChannelError),
        (200, {"code": 19021, "msg": "sign match fail"}, ChannelRefused),
    ],
)
def test_http_failures_are_classified(
    status: int, answer: dict[str, Any], error: type[Exception]
) -> None:
    with http_receiver() as receiver:
        receiver.status, receiver.answer = status, answer
        with pytest.raises(error) as caught:
            HttpSender(receiver.url()).send(sample_body(), "1")
    assert (type(caught.value) is ChannelRefused) == (error is ChannelRefused)


def test_unreachable_webhook_is_a_retryable_error() -> None:
    with pytest.raises(ChannelError) as caught:
        HttpSender(f"http://127.0.0.1:{free_port()}/hook").send(sample_body(), "1")
    assert type(caught.value) is ChannelError


def _subject(message: Any) -> str:
    return str(make_header(decode_header(message["Subject"])))


def test_email_plain_with_chinese_subject() -> None:
    with smtp_receiver() as receiver:
        channel = EmailChannelConfig(
            type="email",
            host="127.0.0.1",
            port=receiver.port,
            security="none",
            sender="campuswatch@school.example",
            to=["director@school.example", "patrol@school.example"],
        )
        EmailSender(channel, "zh").send(sample_body(), "3")
    [(envelope, message)] = receiver.messages
    assert envelope.rcpt_tos == ["director@school.example", "patrol@school.example"]
    assert _subject(message) == "温度超限"
    assert message["Subject"].startswith("=?utf-8?")  # encoded for 7-bit transports
    text = message.get_payload(decode=True).decode("utf-8")
    assert "温度超限：食堂 冷库 冷藏柜1" in text
    assert "级别: 紧急" in text


def test_email_over_starttls(tmp_path: Path) -> None:
    cert, key = self_signed_cert(tmp_path)
    with smtp_receiver(tls=(cert, key)) as receiver:
        channel = EmailChannelConfig(
            type="email",
            host="127.0.0.1",
            port=receiver.port,
            security="starttls",
            sender="campuswatch@school.example",
            to=["director@school.example"],
            ca_file=cert,
        )
        EmailSender(channel, "zh").send(sample_body("escalated"), "4")
        # Without trusting the certificate the send fails, and is retried later.
        untrusted = channel.model_copy(update={"ca_file": None})
        with pytest.raises(ChannelError):
            EmailSender(untrusted, "zh").send(sample_body(), "5")
    [(_envelope, message)] = receiver.messages
    assert _subject(message) == "【升级】温度超限"


def test_mqtt_channel_publishes_the_body_on_the_service_connection(
    broker: MosquittoServer, config: dict[str, Any], publisher: Publisher
) -> None:
    topic = unique("sirens/") + "/canteen"
    received: list[bytes] = []
    subscribed = threading.Event()
    listener = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=unique("siren-"))
    listener.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
    listener.on_subscribe = lambda *_: subscribed.set()
    listener.on_message = lambda _c, _u, msg: received.append(msg.payload)
    listener.connect("127.0.0.1", broker.port)
    listener.loop_start()
    assert subscribed.wait(10)
    config["channels"] = {"siren": {"type": "mqtt", "topic": topic, "qos": 1}}
    config["rules"] = [
        {
            "id": "smoke",
            "kind": "smoke",
            "when": {"field": "smoke", "eq": True},
            "severity": "critical",
            "notify": ["siren"],
        }
    ]
    service = IngestService(IngestConfig.model_validate(config))
    service.start()
    try:
        assert service.wait_ready()
        root = config["mqtt"]["topic_root"]
        alarm = reading("smoke-1", "smoke", int(time.time() * 1000), smoke=True)
        publisher.publish(f"{root}/sunshine-kg/gw-main/readings", envelope("gw-main", 1, [alarm]))
        wait_for(lambda: received, 10)
    finally:
        service.stop()
        listener.loop_stop()
        listener.disconnect()
    body = orjson.loads(received[0])
    assert (body["rule"], body["state"], body["device"]) == ("smoke", "firing", "smoke-1")
