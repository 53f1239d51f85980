"""Signed links: a URL that opens one read-only thing (a report page, a snapshot) without
a token, for messages in chat apps that cannot send one.

``sig`` is an HMAC-SHA256 of what the link opens, under a key made at first start and
kept in ``state_dir/links.key`` (mode 0600); a link opens exactly what it was made for.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path
from urllib.parse import urlencode

from ingest.config import IngestConfig


class LinkSigner:
    """Makes and checks signed links of one service."""

    def __init__(self, config: IngestConfig) -> None:
        api = config.api
        self.base_url = (config.reports.base_url or f"http://{api.host}:{api.port}").rstrip("/")
        self._key_path = config.state_dir / "links.key"
        self._key: bytes | None = None

    def signature(self, *parts: str) -> str:
        """The ``sig`` of what ``parts`` name (e.g. ``"weekly-usage", "2026-W47"``)."""
        message = "|".join(parts).encode()
        return hmac.new(self._link_key(), message, hashlib.sha256).hexdigest()[:32]

    def check(self, sig: str | None, *parts: str) -> bool:
        """True when ``sig`` was made by :meth:`signature` for ``parts``."""
        if sig is None:
            return False
        # Bytes, so a forged signature with non-ASCII characters is just wrong, not an error.
        return hmac.compare_digest(self.signature(*parts).encode(), sig.encode())

    def url(self, path: str, params: dict[str, str], *parts: str) -> str:
        """``base_url + path`` with ``params`` and the ``sig`` of ``parts``."""
        query = urlencode({**params, "sig": self.signature(*parts)})
        return f"{self.base_url}{path}?{query}"

    def _link_key(self) -> bytes:
        if self._key is None:
            self._key = _load_or_make_key(self._key_path)
        return self._key


def _load_or_make_key(path: Path) -> bytes:
    if path.exists():
        return bytes.fromhex(path.read_text().strip())
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # made by another thread or process meanwhile
        return bytes.fromhex(path.read_text().strip())
    with os.fdopen(fd, "w") as handle:
        handle.write(key.hex())
    return key
