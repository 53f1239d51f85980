"""A report's page and table carried in a notification body, for the channels that can
show more than text: ``html`` (the self-contained report page, charts as ``data:`` PNGs)
and ``csv`` with its file name ``csv_name``.

WeCom robots take the charts as ``image`` messages; e-mail carries the page inline (the
charts as related ``cid:`` parts, since mail clients block ``data:`` images) and the
table as an attachment. DingTalk and Feishu custom robots can only show images from an
uploaded media id or a public URL, which a campus LAN does not have: they get the key
figures and the link.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from typing import Any

_DATA_PNG = re.compile(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"')
BODY_ONLY_KEYS = ("html", "csv", "csv_name")  # not part of the SPEC §5 webhook body


def page(body: dict[str, Any]) -> str | None:
    """The report page of a notification body, if it carries one."""
    html = body.get("html")
    return html if isinstance(html, str) and html else None


def images(html: str) -> list[bytes]:
    """The PNG charts embedded in a report page, in page order."""
    return list(_pngs(html))


def with_cids(html: str, prefix: str) -> tuple[str, list[tuple[str, bytes]]]:
    """The page with each embedded PNG replaced by ``cid:<prefix>.<n>``, and the PNGs."""
    found: list[tuple[str, bytes]] = []

    def swap(match: re.Match[str]) -> str:
        cid = f"{prefix}.{len(found)}"
        found.append((cid, base64.b64decode(match.group(1))))
        return f'src="cid:{cid}"'

    return _DATA_PNG.sub(swap, html), found


def without_attachments(body: dict[str, Any]) -> dict[str, Any]:
    """The body as a webhook receives it (SPEC §5 keys and the report's own)."""
    return {k: v for k, v in body.items() if k not in BODY_ONLY_KEYS}


def _pngs(html: str) -> Iterator[bytes]:
    for match in _DATA_PNG.finditer(html):
        try:
            yield base64.b64decode(match.group(1), validate=True)
        except binascii.Error:  # not ours: a page is made by the service, but be safe
            continue
