"""``campus-ingest duty verify``: check that no duty record was changed or removed since it
was saved (each book's hash chain, SPEC §11); exit 1 and name each break if one was."""

from __future__ import annotations

import argparse
import sys

from ingest.config import IngestConfig
from ingest.duty.books import DutyBooks, DutyError

EXIT_OK, EXIT_FAILURE = 0, 1


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``duty`` command and its actions."""
    duty = sub.add_parser("duty", help="the duty books (roster, rounds, handover, ...)")
    actions = duty.add_subparsers(dest="action", required=True)
    verify = actions.add_parser("verify", help="check that no record was changed or removed")
    verify.add_argument("--config", required=True, help="the service's YAML config file")


def run_duty(config: IngestConfig, _args: argparse.Namespace) -> int:
    """Verify every book's chain; the exit code."""
    path = config.state_dir / "duty.db"
    if not path.exists():
        print(f"{path}: no duty records yet")
        return EXIT_OK
    books = DutyBooks(path)
    try:
        books.open()
        problems = books.verify()
    except DutyError as exc:
        print(exc, file=sys.stderr)
        return EXIT_FAILURE
    finally:
        books.close()
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{path}: {len(problems)} break(s): records were changed outside the service")
        return EXIT_FAILURE
    print(f"{path}: every book is intact")
    return EXIT_OK
