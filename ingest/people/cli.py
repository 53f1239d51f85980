"""``campus-ingest users add|contacts|list|passwd|remove`` (SPEC §9): people in the service's state.

A password is read from standard input (one line) when it is not a terminal, else asked
for twice. The running service sees the change at once (the same SQLite file).
"""

from __future__ import annotations

import argparse
import getpass
import sys

from rich.console import Console
from rich.table import Table

from campuswatch.clock import SystemClock
from ingest.config import IngestConfig
from ingest.people.checks import PeopleError
from ingest.people.contacts import Contacts
from ingest.people.store import ROLES, PeopleStore

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
# SPEC §11: where ``notify: [on_duty]`` reaches the person (see duty.contacts).
_CONTACT_FLAGS = {
    "--phone": "phone number (shown masked to all but admins)",
    "--email": "e-mail address",
    "--wecom-userid": "WeCom user id: the group robot @-mentions them",
    "--dingtalk-mobile": "DingTalk mobile: the group robot @-mentions them",
}


def _contacts(args: argparse.Namespace) -> Contacts:
    return Contacts.checked(
        phone=args.phone,
        email=args.email,
        wecom_userid=args.wecom_userid,
        dingtalk_mobile=args.dingtalk_mobile,
    )


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``users`` command and its actions."""
    users = sub.add_parser("users", help="people who log in to the console")
    actions = users.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="add a person (a login that exists is refused)")
    add.add_argument("login")
    add.add_argument("--name", required=True, help="display name, e.g. 张师傅")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument(
        "--areas",
        default="",
        help="building ids, comma-separated: they acknowledge alerts there only (canteen,main)",
    )
    contacts = actions.add_parser("contacts", help="set a person's own contacts (on_duty)")
    contacts.add_argument("login")
    for action in (add, contacts):
        for flag, text in _CONTACT_FLAGS.items():
            action.add_argument(flag, default="", help=text)
    actions.add_parser("list", help="everyone, with role, areas and whether disabled")
    for name, help_text in (("passwd", "set a new password"), ("remove", "remove a person")):
        action = actions.add_parser(name, help=help_text)
        action.add_argument("login")
    for action in actions.choices.values():
        action.add_argument("--config", required=True, help="the service's YAML config file")


def read_password(prompt: str = "Password: ") -> str:
    """One line from a pipe, or typed twice at a terminal (PeopleError if they differ)."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass(prompt)
    if getpass.getpass("Again: ") != first:
        raise PeopleError("the two passwords differ")
    return first


def run_users(config: IngestConfig, args: argparse.Namespace) -> int:
    """Carry out one ``users`` action; the exit code."""
    store = PeopleStore(config.state_dir / "people.db", config.console, SystemClock())
    try:
        store.open()
    except PeopleError as exc:
        print(exc, file=sys.stderr)
        return EXIT_FAILURE
    try:
        if args.action == "list":
            _print_people(store)
        elif args.action == "add":
            areas, contacts = args.areas.split(","), _contacts(args)  # checked before the password
            person = store.add(args.login, args.name, args.role, read_password(), areas, contacts)
            where = f", areas {','.join(person.areas)}" if person.areas else ""
            print(f"added {person.login} ({person.name}, {person.role}{where})")
        elif args.action == "contacts":
            store.set_contacts(args.login, _contacts(args))
            print(f"contacts of {args.login} saved")
        elif args.action == "passwd":
            store.set_password(args.login, read_password("New password: "))
            print(f"new password for {args.login}; their sessions have ended")
        else:
            store.remove(args.login)
            print(f"removed {args.login}")
    except PeopleError as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    finally:
        store.close()
    return EXIT_OK


def _print_people(store: PeopleStore) -> None:
    table = Table("login", "name", "role", "areas", "state")
    for person in store.people():
        state = "disabled" if person.disabled else ""
        table.add_row(person.login, person.name, person.role, ",".join(person.areas), state)
    Console().print(table)
