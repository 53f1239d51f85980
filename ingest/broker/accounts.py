"""Mosquitto's password file (``$7$`` PBKDF2-SHA512 hashes, as ``mosquitto_passwd`` writes
them) and the ACL that confines each gateway to ``ROOT/SITE/GW/#``.

A gateway's account is named ``SITE/GW``; the ACL's ``pattern readwrite ROOT/%u/#`` lets
it publish and subscribe under its own topics only, so with one gateway's password nobody
can speak for another gateway, read another's topics or the ingest's ``$SYS``. The ingest's
account reads ``ROOT/#`` and ``$SYS/#``. Every other account and ACL line is kept as it
was; writing an account again gives it a new password (rotation). Mosquitto reads both
files again on SIGHUP.

Every name is checked whole (a name with a line break once wrote broken files that
Mosquitto kept the old rules for, and refused to start with after a reboot); a refused
name leaves both files untouched. Both files are read, changed and replaced under one
lock (``PASSWD.lock``, as ``vipw`` locks), so commands run at once lose no account.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from campuswatch.atomicfile import write_atomic
from campuswatch.protocol.kinds import ID_RE, UNSAFE_TEXT
from ingest.errors import IngestError

ITERATIONS = 101  # mosquitto_passwd's own; the passwords are random 128-bit strings
SALT_BYTES = 12
PASSWORD_BYTES = 18  # 144 bits of randomness, 24 characters
_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_ROOT_RE = re.compile(r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$")
_WRITE_TOPIC_RE = re.compile(f"[^#+\\s{UNSAFE_TEXT}]{{1,256}}")


class BrokerError(IngestError):
    """An account or a file of the broker cannot be written as asked."""


def hash_password(password: str, salt: bytes | None = None) -> str:
    """A Mosquitto ``$7$`` hash: ``$7$ITERATIONS$SALT$HASH`` (base64, PBKDF2-HMAC-SHA512)."""
    salt = salt if salt is not None else secrets.token_bytes(SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, ITERATIONS, 64)
    return f"$7${ITERATIONS}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    """True when ``password`` matches a ``$7$`` hash."""
    try:
        _, kind, iterations, salt, digest = stored.split("$")
        if kind != "7":
            return False
        computed = hashlib.pbkdf2_hmac(
            "sha512", password.encode(), base64.b64decode(salt), int(iterations), 64
        )
    except ValueError:
        return False
    return secrets.compare_digest(base64.b64encode(computed).decode(), digest)


def gateway_account(site: str, gateway: str) -> str:
    """The account name of a gateway: ``SITE/GW``."""
    for what, value in (("site", site), ("gateway", gateway)):
        if not ID_RE.fullmatch(value):
            raise BrokerError(f"{what} {value!r} must match [a-z0-9][a-z0-9-]{{0,62}}")
    return f"{site}/{gateway}"


def check_root(root: str) -> str:
    """``root`` if it is a topic root (words joined by /)."""
    if not _ROOT_RE.fullmatch(root):
        raise BrokerError(f"topic root {root!r} must be words of A-Z a-z 0-9 _ - joined by /")
    return root


@contextmanager
def locked(passwd: Path) -> Iterator[None]:
    """Hold the lock of the broker's files while they are read and replaced."""
    passwd.parent.mkdir(parents=True, exist_ok=True)
    with passwd.with_name(passwd.name + ".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def set_password(passwd: Path, account: str) -> str:
    """Give ``account`` a new random password in ``passwd`` (others kept); return it.
    The caller holds the files' lock."""
    password = secrets.token_urlsafe(PASSWORD_BYTES)
    lines = passwd.read_text().splitlines() if passwd.exists() else []
    kept = [line for line in lines if line.split(":", 1)[0] != account]
    kept.append(f"{account}:{hash_password(password)}")
    write_atomic(passwd, ("\n".join(kept) + "\n").encode(), mode=0o640, keep_owner=True)
    return password


def add_gateway(site: str, gateway: str, passwd: Path, acl: Path, root: str = "campus") -> str:
    """Create or replace a gateway's account; the new password."""
    account = gateway_account(site, gateway)
    root = check_root(root)
    with locked(passwd):
        _ensure_acl(acl, root, None, [])
        return set_password(passwd, account)


def add_ingest(
    name: str, passwd: Path, acl: Path, root: str = "campus", write: list[str] | None = None
) -> str:
    """Create or replace the ingest's account (reads ``ROOT/#`` and ``$SYS/#``, may write
    ``write`` topics, e.g. a siren's); the new password."""
    check_ingest(name, write or [])
    root = check_root(root)
    with locked(passwd):
        _ensure_acl(acl, root, name, write or [])
        return set_password(passwd, name)


def check_ingest(name: str, write: list[str]) -> None:
    """Refuse an ingest account name or write topic that cannot be one."""
    if not _NAME_RE.fullmatch(name):
        raise BrokerError(f"account {name!r} must be 1-64 of A-Z a-z 0-9 _ . - (no /)")
    for topic in write:
        if not _WRITE_TOPIC_RE.fullmatch(topic):
            raise BrokerError(
                f"{topic!r} cannot be a write topic of the ingest (no wildcards,"
                " spaces or control characters)"
            )


def _ensure_acl(acl: Path, root: str, ingest: str | None, write: list[str]) -> None:
    """The ACL with the gateways' pattern for ``root`` and, if given, the ingest's block."""
    preamble, blocks = _read_acl(acl)
    pattern = f"pattern readwrite {root}/%u/#"
    if pattern not in preamble:
        preamble.append(pattern)
    if ingest is not None:
        blocks[ingest] = [
            f"user {ingest}",
            f"topic read {root}/#",
            "topic read $SYS/#",
            *(f"topic write {topic}" for topic in write),
        ]
    text = "\n".join(preamble) + "\n"
    for block in blocks.values():
        text += "\n" + "\n".join(block) + "\n"
    write_atomic(acl, text.encode(), mode=0o640, keep_owner=True)


def _read_acl(acl: Path) -> tuple[list[str], dict[str, list[str]]]:
    """The lines before the first ``user`` line, and each user's block."""
    preamble = [
        "# campuswatch broker ACL (campus-ingest broker): a gateway SITE/GW may use",
        "# ROOT/SITE/GW/# only; the ingest reads ROOT/# and $SYS/#.",
    ]
    blocks: dict[str, list[str]] = {}
    if not acl.exists():
        return preamble, blocks
    preamble = []
    current: list[str] | None = None
    for line in acl.read_text().splitlines():
        if line.startswith("user "):
            current = blocks.setdefault(line.split(" ", 1)[1].strip(), [])
        if current is None:
            if line.strip():
                preamble.append(line)
        elif line.strip():
            current.append(line)
    return preamble, blocks
