"""Broker accounts from hostile names and concurrent commands (issue 20, items 8 and 9):
a name with a line break is refused with exit 2 and both files stay as they were; twenty
``add-gateway`` commands at once keep every account (Mosquitto reading such files is
``test_broker_security.py``'s)."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ingest.broker.accounts import verify_password


def _broker(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ingest.cli", "broker", *args],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


@pytest.mark.parametrize(
    "args",
    [
        ["add-gateway", "sunshine-kg", "gw-c\n"],
        ["add-gateway", "sunshine-kg\n", "gw-c"],
        ["add-gateway", "sunshine-kg", "gw-c", "--topic-root", "campus\n"],
        ["add-ingest", "ingest\n"],
        ["add-ingest", "ingest", "--write", "campus/siren\nuser evil"],
        ["add-ingest", "ingest", "--write", "campus/siren set"],
    ],
    ids=["gateway", "site", "root", "ingest", "write topic", "write topic space"],
)
def test_a_name_with_a_line_break_is_refused_and_nothing_written(
    tmp_path: Path, args: list[str]
) -> None:
    passwd, acl = tmp_path / "passwd", tmp_path / "acl"
    files = ["--passwd", str(passwd), "--acl", str(acl)]
    assert _broker("add-gateway", "sunshine-kg", "gw-a", *files).returncode == 0
    before = passwd.read_bytes(), acl.read_bytes()
    done = _broker(*args, *files)
    assert done.returncode == 2
    assert "must" in done.stderr or "cannot" in done.stderr
    assert (passwd.read_bytes(), acl.read_bytes()) == before


def test_concurrent_add_gateway_commands_keep_every_account(tmp_path: Path) -> None:
    passwd, acl = tmp_path / "passwd", tmp_path / "acl"
    files = ["--passwd", str(passwd), "--acl", str(acl)]
    with ThreadPoolExecutor(20) as pool:
        runs = list(pool.map(lambda i: _broker("add-gateway", "sunshine-kg", f"gw-{i}", *files),
                             range(20)))  # fmt: skip
    assert [r.returncode for r in runs] == [0] * 20
    accounts = dict(line.split(":", 1) for line in passwd.read_text().splitlines())
    for i, run in enumerate(runs):
        assert verify_password(run.stdout.strip(), accounts[f"sunshine-kg/gw-{i}"])
    assert not list(tmp_path.glob(".*.tmp"))
    assert acl.read_text().count("pattern readwrite campus/%u/#") == 1
