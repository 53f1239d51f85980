"""E-mail notifications over SMTP (STARTTLS, implicit TLS or plain), UTF-8 throughout."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, make_msgid
from typing import Any

from campuswatch.notify.attachments import page, with_cids
from campuswatch.notify.config import EmailChannelConfig
from campuswatch.notify.sender import ChannelError, ChannelRefused
from campuswatch.notify.words import say, severity_word


def recipients(body: dict[str, Any], configured: list[str]) -> list[str]:
    """The body's ``to`` (the people on duty: see ingest/duty/routing.py), else the
    channel's own recipients (both for a digest whose ``to_channel`` says so)."""
    to = body.get("to")
    if not (isinstance(to, list) and to and all(isinstance(a, str) for a in to)):
        return list(configured)
    also = configured if body.get("to_channel") else []  # a digest of both kinds
    return list(dict.fromkeys([*to, *also]))


class EmailSender:
    """Sends one message per notification to the configured recipients."""

    per_minute = 30  # SMTP servers of school mailboxes throttle; a storm is one digest
    digests = True

    def __init__(self, channel: EmailChannelConfig, lang: str) -> None:
        self.channel = channel
        self.lang = lang
        self._tls = ssl.create_default_context(
            cafile=str(channel.ca_file) if channel.ca_file else None
        )

    def compose(self, body: dict[str, Any], delivery_id: str) -> EmailMessage:
        """The message: the title as subject (RFC 2047 encoded), the details as text."""
        message = EmailMessage(policy=SMTP)
        message["Subject"] = body["title"]
        message["From"] = self.channel.sender
        message["To"] = ", ".join(recipients(body, self.channel.to))
        message["Date"] = formatdate(localtime=True)
        message["Message-ID"] = make_msgid(f"campuswatch.{delivery_id}")
        lang = self.lang
        lines = [
            body["message"],
            "",
            f"{say('label.severity', lang)}: {severity_word(body['severity'], lang)}",
            f"{say('label.since', lang)}: {body['started_at']}",
            f"{say('label.device', lang)}: {body['device']}",
            f"{say('label.rule', lang)}: {body['rule']}",
        ]
        if body.get("ack_url"):
            lines += ["", f"{say('label.ack', lang)}: {body['ack_url']}"]
        message.set_content("\n".join(lines), charset="utf-8")
        self._add_report(message, body, delivery_id)
        return message

    @staticmethod
    def _add_report(message: EmailMessage, body: dict[str, Any], delivery_id: str) -> None:
        """A report's page inline (charts as related parts) and its table attached."""
        html = page(body)
        if html is not None:
            inline, charts = with_cids(html, f"chart{delivery_id}")
            message.add_alternative(inline, subtype="html", charset="utf-8")
            part = message.get_body(("html",))
            assert part is not None  # just added
            for cid, png in charts:
                part.add_related(png, "image", "png", cid=f"<{cid}>")
        if isinstance(body.get("csv"), str):
            name = str(body.get("csv_name") or "report.csv")
            message.add_attachment(
                body["csv"].encode("utf-8"), maintype="text", subtype="csv", filename=name
            )

    def send(self, body: dict[str, Any], delivery_id: str) -> None:
        """Connect, authenticate if configured, send, disconnect."""
        c = self.channel
        timeout = c.timeout.total_seconds()
        try:
            if c.security == "ssl":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    c.host, c.port, timeout=timeout, context=self._tls
                )
            else:
                smtp = smtplib.SMTP(c.host, c.port, timeout=timeout)
            with smtp:
                if c.security == "starttls":
                    smtp.starttls(context=self._tls)
                if c.username:
                    smtp.login(c.username, c.password or "")
                smtp.send_message(self.compose(body, delivery_id))
        except (smtplib.SMTPAuthenticationError, smtplib.SMTPRecipientsRefused) as exc:
            raise ChannelRefused(f"SMTP server {c.host} refused: {exc}") from exc
        except smtplib.SMTPResponseException as exc:
            if 500 <= exc.smtp_code < 600:
                raise ChannelRefused(f"SMTP server {c.host} refused: {exc}") from exc
            raise ChannelError(f"SMTP server {c.host}: {exc}") from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise ChannelError(f"SMTP server {c.host}:{c.port}: {exc}") from exc

    def close(self) -> None:
        """Connections are per message."""
