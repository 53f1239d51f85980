"""``campus-ingest broker add-gateway|add-ingest|certs`` (SPEC §10).

``add-gateway`` and ``add-ingest`` print the new password alone on standard output (so a
script can take it); Mosquitto reads the files again on SIGHUP (``systemctl reload
mosquitto``). With ``--nats FILE`` instead of ``--passwd``/``--acl`` they write the accounts
of a NATS cluster (a district, SPEC §13; see nats.py); an ingest there names its sites.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ingest.broker import nats
from ingest.broker.accounts import BrokerError, add_gateway, add_ingest
from ingest.broker.certs import make_certificates

EXIT_OK, EXIT_USAGE = 0, 2


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``broker`` command and its actions."""
    broker = sub.add_parser("broker", help="accounts, ACL and certificates of the broker")
    actions = broker.add_subparsers(dest="action", required=True)
    gateway = actions.add_parser("add-gateway", help="create or rotate a gateway's account")
    gateway.add_argument("site")
    gateway.add_argument("gateway")
    ingest = actions.add_parser("add-ingest", help="create or rotate the ingest's account")
    ingest.add_argument("name")
    ingest.add_argument(
        "--write", action="append", default=[], help="a topic it may publish to (repeatable)"
    )
    ingest.add_argument(
        "--site", action="append", default=[], help="with --nats: a site it serves (repeatable)"
    )
    for action in (gateway, ingest):
        action.add_argument("--passwd", type=Path, help="Mosquitto password file")
        action.add_argument("--acl", type=Path, help="Mosquitto ACL file")
        action.add_argument("--nats", type=Path, help="a NATS cluster's authorization file")
        action.add_argument("--topic-root", default="campus", help="default campus")
    certs = actions.add_parser("certs", help="a private CA and the broker's certificate")
    certs.add_argument("--dir", type=Path, required=True, help="where the files go")
    certs.add_argument(
        "--host",
        action="append",
        required=True,
        help="a name or address gateways connect to, repeatable",
    )
    broker.set_defaults(func=run_broker)


def run_broker(args: argparse.Namespace) -> int:
    """Carry out one ``broker`` action; the exit code."""
    try:
        if args.action in ("add-gateway", "add-ingest"):
            print(_add_account(args))
        else:
            make_certificates(args.dir, args.host)
            print(
                f"{args.dir}: ca.crt (give it to the gateways), server.crt, server.key",
                file=sys.stderr,
            )
    except (BrokerError, OSError) as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def _add_account(args: argparse.Namespace) -> str:
    """One account, on Mosquitto's files or a NATS cluster's; its new password."""
    files = [args.passwd, args.acl]
    if any(files) if args.nats is not None else not all(files):
        raise BrokerError("give --passwd and --acl (Mosquitto), or --nats (a NATS cluster)")
    root = args.topic_root
    if args.action == "add-gateway":
        if args.nats:
            return nats.add_gateway(args.site, args.gateway, args.nats, root)
        return add_gateway(args.site, args.gateway, args.passwd, args.acl, root)
    if args.nats:
        return nats.add_ingest(args.name, args.site, args.nats, root, args.write)
    if args.site:
        raise BrokerError("--site is for --nats: on Mosquitto the ingest reads every site")
    return add_ingest(args.name, args.passwd, args.acl, root, args.write)
