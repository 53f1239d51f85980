"""A report's page and table on the channels that can show them: WeCom image messages
(base64 + MD5), e-mail with the page inline and the CSV attached; webhooks and MQTT get
the SPEC §5 body without them."""

from __future__ import annotations

import base64
import hashlib
import io
from typing import Any

from matplotlib.figure import Figure

from campuswatch.notify.config import EmailChannelConfig, WecomChannelConfig
from campuswatch.notify.email import EmailSender
from campuswatch.notify.http import WECOM_IMAGE_MAX, HttpSender, WecomSender
from tests.receivers import http_receiver, smtp_receiver


def _png(size: tuple[float, float] = (2, 1)) -> bytes:
    figure = Figure(figsize=size, dpi=50)
    figure.subplots().plot([0, 1], [1, 0])
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _report_body(*pngs: bytes) -> dict[str, Any]:
    images = "".join(
        f'<img alt="chart" src="data:image/png;base64,{base64.b64encode(p).decode()}">'
        for p in pngs
    )
    return {
        "alert_id": 0,
        "rule": "report:weekly-usage",
        "device": "",
        "gateway": "",
        "name": None,
        "site": "sunshine-kg",
        "severity": "info",
        "state": "report",
        "title": "用水用电周报 2026-W47",
        "message": "用电 812.4 kWh\nhttp://campus/r",
        "value": None,
        "started_at": "2026-11-23T07:30:00+08:00",
        "tags": {},
        "report": "weekly-usage",
        "period": "2026-W47",
        "url": "http://campus/r",
        "html": f"<html><body><h1>周报</h1>{images}<table></table></body></html>",
        "csv": "\ufeff设备,本周用量\nmeter-main,812.4\n",
        "csv_name": "weekly-usage-2026-W47.csv",
    }


def test_wecom_sends_the_figures_then_each_chart_as_an_image() -> None:
    first, second = _png(), _png((3, 2))
    with http_receiver() as receiver:
        sender = WecomSender(WecomChannelConfig(type="wecom", url=receiver.url()), "zh")
        sender.send(_report_body(first, second), "5")
        sender.close()
    markdown, *images = (r.body for r in receiver.requests)
    assert markdown["msgtype"] == "markdown"
    assert "用电 812.4 kWh" in markdown["markdown"]["content"]
    assert [i["msgtype"] for i in images] == ["image", "image"]
    for sent, png in zip(images, (first, second), strict=True):
        assert base64.b64decode(sent["image"]["base64"]) == png
        assert sent["image"]["md5"] == hashlib.md5(png).hexdigest()


def test_wecom_skips_a_chart_over_2_mb_and_never_fails_for_a_chart() -> None:
    too_big = b"\x89PNG" + b"\0" * WECOM_IMAGE_MAX
    with http_receiver() as receiver:
        sender = WecomSender(WecomChannelConfig(type="wecom", url=receiver.url()), "zh")
        sender.send(_report_body(too_big), "6")
        assert [r.body["msgtype"] for r in receiver.requests] == ["markdown"]
        receiver.answer_by_msgtype["image"] = {"errcode": 40009, "errmsg": "invalid image size"}
        sender.send(_report_body(_png()), "7")  # the image is refused: logged, not raised
        sender.close()
    assert [r.body["msgtype"] for r in receiver.requests] == ["markdown", "markdown", "image"]


def test_email_carries_the_page_inline_and_the_table_attached() -> None:
    png = _png()
    with smtp_receiver() as receiver:
        channel = EmailChannelConfig(
            type="email",
            host="127.0.0.1",
            port=receiver.port,
            security="none",
            sender="cw@school.example",
            to=["director@school.example"],
        )
        EmailSender(channel, "zh").send(_report_body(png), "8")
    [(_, message)] = receiver.messages
    parts = {p.get_content_type(): p for p in message.walk()}
    assert "用电 812.4 kWh" in parts["text/plain"].get_payload(decode=True).decode()
    html = parts["text/html"].get_payload(decode=True).decode()
    image = parts["image/png"]
    cid = image["Content-ID"].strip("<>")
    assert f'src="cid:{cid}"' in html
    assert "data:image" not in html  # mail clients block data: images
    assert image.get_payload(decode=True) == png
    table = parts["text/csv"]
    assert table.get_filename() == "weekly-usage-2026-W47.csv"
    assert table.get_payload(decode=True).decode("utf-8").endswith("meter-main,812.4\n")


def test_a_webhook_gets_the_body_without_the_page() -> None:
    with http_receiver() as receiver:
        sender = HttpSender(receiver.url())
        sender.send(_report_body(_png()), "9")
        sender.close()
    [request] = receiver.requests
    assert request.body["period"] == "2026-W47"
    assert not {"html", "csv", "csv_name"} & set(request.body)
