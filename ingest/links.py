"""Signed links: a URL that opens one thing without a login, for messages in chat apps that
cannot send a token: a report page, a snapshot, or the page that acknowledges one alert.
Every link expires: its ``sig`` is ``EXPIRES.MAC``, the MAC covering the expiry too.

Signatures are HMAC-SHA256 under a key made at first start and kept in
``state_dir/links.key`` (mode 0600); a link opens exactly what it was signed for. The key
is made atomically (written, fsynced, then linked into place, so nobody ever reads a
partial key), a key shorter than 32 bytes is refused, and replacing the key file (for
example with ``campus-ingest links rotate``) revokes every link made before; the service
notices the new key without a restart.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from campuswatch.atomicfile import fsync_directory, write_atomic
from campuswatch.clock import Clock
from ingest.config import IngestConfig
from ingest.errors import IngestError
from ingest.health import Problems

log = logging.getLogger(__name__)

KEY_BYTES = 32
_SIG_CHARS = 32


class LinkKeyError(IngestError):
    """The link key file is unreadable or too short to sign with."""


class AckLinkError(IngestError):
    """An ack link that does not acknowledge anything; ``reason`` says why."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason  # forged | expired | other_alert


@dataclass(frozen=True, slots=True)
class AckTicket:
    """What a valid ack link carries."""

    alert_id: int
    expires_s: int
    nonce: str


class LinkSigner:
    """Makes and checks signed links of one service; thread-safe."""

    def __init__(
        self, config: IngestConfig, clock: Clock, problems: Problems | None = None
    ) -> None:
        self.clock = clock
        self.problems = problems or Problems()
        self.base_url = config.api.public_url or config.reports.base_url or ""
        self.base_url = (self.base_url or config.api.base_url()).rstrip("/")
        self.key_path = config.state_dir / "links.key"
        self._lock = threading.Lock()
        self._key: bytes | None = None
        self._key_stamp: tuple[int, int] | None = None

    def open(self) -> None:
        """Load the key now (making it on first start). An unusable key is a health
        problem, not a reason to stop: alarms go out without their links meanwhile."""
        try:
            self._link_key()
        except LinkKeyError as exc:
            log.error("%s", exc)

    def signature(self, *parts: str) -> str:
        """The ``sig`` of what ``parts`` name (e.g. ``"weekly-usage", "2026-W47"``)."""
        return mac(self._link_key(), *parts)

    def check(self, sig: str | None, *parts: str) -> bool:
        """True when ``sig`` was made by :meth:`signature` for ``parts``."""
        if sig is None:
            return False
        try:
            expected = self.signature(*parts)
        except LinkKeyError:  # no usable key: no link opens (a health problem says why)
            return False
        # Bytes, so a forged signature with non-ASCII characters is just wrong, not an error.
        return hmac.compare_digest(expected.encode(), sig.encode())

    def url(self, path: str, params: dict[str, str], *parts: str, valid_s: int) -> str:
        """``base_url + path`` with ``params`` and a ``sig`` of ``parts`` that expires in
        ``valid_s`` seconds."""
        expires = str(int(self.clock.time()) + valid_s)
        sig = f"{expires}.{self.signature(*parts, expires)}"
        return f"{self.base_url}{path}?{urlencode({**params, 'sig': sig})}"

    def check_link(self, sig: str | None, *parts: str) -> bool:
        """True when ``sig`` is that of a :meth:`url` for ``parts`` and has not expired."""
        expires, _, mac = (sig or "").partition(".")
        if not (expires.isascii() and expires.isdigit() and len(expires) <= 12):
            return False
        return int(expires) > self.clock.time() and self.check(mac, *parts, expires)

    def _link_key(self) -> bytes:
        """The key of the file now; LinkKeyError (and a health problem) when it is
        unusable: a key replaced by a broken one must not go on signing with the old."""
        with self._lock:
            stamp = _stamp(self.key_path)
            if self._key is None or stamp != self._key_stamp:
                self._key = None
                try:
                    self._key = load_or_make_key(self.key_path)
                except LinkKeyError as exc:
                    self.problems.report("links", f"{exc}: messages go out without links")
                    raise
                self._key_stamp = _stamp(self.key_path)
                self.problems.clear("links")
            return self._key


class AckLinks:
    """Links that acknowledge one alert from a phone: ``/ack/ID/TOKEN`` (SPEC §9).

    The token names the alert, when it expires and a nonce, signed together; that the
    link is used only once is the alert store's to record (with the acknowledgement).
    """

    def __init__(self, signer: LinkSigner, valid_s: int) -> None:
        self.signer = signer
        self.valid_s = valid_s

    def url(self, alert_id: int, now_s: float) -> str:
        """A fresh link for ``alert_id``, valid from ``now_s``."""
        expires = int(now_s) + self.valid_s
        nonce = secrets.token_urlsafe(12)
        sig = self.signer.signature("ack", str(alert_id), str(expires), nonce)
        return f"{self.signer.base_url}/ack/{alert_id}/{alert_id}.{expires}.{nonce}.{sig}"

    def check(self, alert_id: int, token: str, now_s: float) -> AckTicket:
        """The ticket of a link opened as ``/ack/alert_id/token``; AckLinkError if none."""
        parts = token.split(".")
        if len(parts) != 4 or not all(parts) or not parts[0].isdigit() or not parts[1].isdigit():
            raise AckLinkError("forged", "this link is not a valid acknowledgement link")
        signed_for, expires, nonce, sig = int(parts[0]), int(parts[1]), parts[2], parts[3]
        if not self.signer.check(sig, "ack", parts[0], parts[1], nonce):
            raise AckLinkError("forged", "this link is not a valid acknowledgement link")
        if signed_for != alert_id:
            raise AckLinkError("other_alert", f"this link belongs to alert #{signed_for}")
        if now_s >= expires:
            raise AckLinkError("expired", "this link has expired")
        return AckTicket(alert_id, expires, nonce)


def mac(key: bytes, *parts: str) -> str:
    """The signature of ``parts`` under ``key`` (HMAC-SHA256, shortened)."""
    message = "|".join(parts).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:_SIG_CHARS]


def load_or_make_key(path: Path) -> bytes:
    """The key in ``path``, made first if there is none; LinkKeyError if it is unusable."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        try:
            return _make_key(path)
        except OSError as exc:
            raise LinkKeyError(f"{path}: cannot make a link key: {exc}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise LinkKeyError(f"{path}: cannot read the link key: {exc}") from exc
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        raise LinkKeyError(f"{path}: the link key is not hexadecimal") from None
    if len(key) < KEY_BYTES:
        raise LinkKeyError(
            f"{path}: the link key has {len(key)} bytes, at least {KEY_BYTES} are needed"
            " (delete the file to make a new key; that also revokes every link sent)"
        )
    return key


def rotate_key(path: Path) -> None:
    """Replace the key: every link signed with the old one stops working."""
    write_atomic(path, secrets.token_bytes(KEY_BYTES).hex().encode())


def _make_key(path: Path) -> bytes:
    key = secrets.token_bytes(KEY_BYTES)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(key.hex())
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)  # appears complete, or not at all; never replaces a key
        except FileExistsError:  # made by another process meanwhile: use theirs
            return load_or_make_key(path)
        fsync_directory(path.parent)
        return key
    finally:
        tmp.unlink(missing_ok=True)


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    return (info.st_ino, info.st_mtime_ns)
