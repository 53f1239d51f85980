"""The MQTT accounts of a NATS cluster (SPEC §13): ``campus-ingest broker add-gateway |
add-ingest … --nats FILE``.

``FILE`` (say ``auth.conf``) is an ``authorization`` block every node's configuration
includes; beside it, ``FILE.json`` keeps the accounts it is made from. A gateway's account
``SITE/GW`` may publish and subscribe only under ``ROOT/SITE/GW/#``; an ingest's account
reads only its sites (``ROOT/SITE/+/…``) and writes only the topics given (a siren's).
Every account may connect only over MQTT. Passwords are random and stored as bcrypt
hashes, which nats-server checks; writing an account again gives it a new password. The
nodes read the file again on ``nats-server --signal reload`` (SIGHUP). NATS names MQTT
topics as subjects: ``/`` becomes ``.``, ``.`` becomes ``//``.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import bcrypt
import orjson

from campuswatch.atomicfile import write_atomic
from campuswatch.protocol.kinds import ID_RE
from ingest.broker.accounts import (
    PASSWORD_BYTES,
    BrokerError,
    check_ingest,
    check_root,
    gateway_account,
    locked,
)

Accounts = dict[str, dict[str, object]]


_WILDCARDS = {"+": "*", "#": ">"}


def subject(topic: str) -> str:
    """The NATS subject of an MQTT topic or filter (``+`` is ``*``, ``#`` is ``>``)."""
    levels = topic.split("/")
    return ".".join(_WILDCARDS.get(level) or level.replace(".", "//") for level in levels)


def add_gateway(site: str, gateway: str, conf: Path, root: str = "campus") -> str:
    """Create or replace a gateway's account; the new password."""
    account = gateway_account(site, gateway)
    own = subject(f"{check_root(root)}/{site}/{gateway}/#")
    return _set_account(conf, account, publish=[own], subscribe=[own])


def add_ingest(
    name: str, sites: list[str], conf: Path, root: str = "campus", write: list[str] | None = None
) -> str:
    """Create or replace an ingest's account, reading only ``sites``; the new password."""
    check_ingest(name, write or [])
    if not sites:
        raise BrokerError("an ingest on NATS reads only its sites: give --site (repeatable)")
    for site in sites:
        if not ID_RE.fullmatch(site):
            raise BrokerError(f"site {site!r} must match [a-z0-9][a-z0-9-]{{0,62}}")
    for topic in write or []:
        if any(level in ("", "*", ">") for level in topic.split("/")):
            raise BrokerError(f"{topic!r} cannot be a write topic on NATS (an empty, * or > level)")
    root = check_root(root)
    reads = [subject(f"{root}/{site}/+/#") for site in sites]
    return _set_account(conf, name, publish=[subject(t) for t in write or []], subscribe=reads)


def _set_account(conf: Path, account: str, publish: list[str], subscribe: list[str]) -> str:
    password = secrets.token_urlsafe(PASSWORD_BYTES)
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=11)).decode()
    book = conf.with_name(conf.name + ".json")
    with locked(conf):
        accounts = _read(book)
        accounts[account] = {"hash": hashed, "publish": publish, "subscribe": subscribe}
        write_atomic(book, orjson.dumps(accounts, option=orjson.OPT_INDENT_2), mode=0o640)
        write_atomic(conf, render(accounts).encode(), mode=0o640, keep_owner=True)
    return password


def _read(book: Path) -> Accounts:
    """The accounts kept beside the file (none yet: empty)."""
    if not book.exists():
        return {}
    try:
        accounts = orjson.loads(book.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise BrokerError(f"{book}: not the accounts this command writes ({exc})") from exc
    fields = {"hash", "publish", "subscribe"}
    if not isinstance(accounts, dict) or any(
        not isinstance(a, dict) or set(a) != fields for a in accounts.values()
    ):
        raise BrokerError(f"{book}: not the accounts this command writes")
    return accounts


def render(accounts: Accounts) -> str:
    """The ``authorization`` block of ``accounts``."""
    lines = [
        "# campuswatch: the cluster's MQTT accounts (campus-ingest broker ... --nats);",
        "# every node includes this file. Do not edit: the commands write it again.",
        "authorization {",
        "  users: [",
    ]
    for name, account in sorted(accounts.items()):
        publish = account["publish"]  # an empty allow list would allow every subject
        permissions = {
            "publish": {"allow": publish} if publish else {"deny": [">"]},
            "subscribe": {"allow": account["subscribe"]},
        }
        lines.append(
            f"    {{user: {_quoted(name)}, password: {_quoted(account['hash'])},"
            f' allowed_connection_types: ["MQTT"], permissions: {_quoted(permissions)}}}'
        )
    return "\n".join([*lines, "  ]", "}", ""])


def _quoted(value: object) -> str:
    """JSON, which nats-server's configuration reads as it is (strings are not expanded)."""
    return orjson.dumps(value).decode()
