"""``campus-ingest broker … --nats`` (SPEC §13): the accounts file nats-server reads, and
the refusals. The accounts at work on a real cluster: tests/district/test_district.py."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ingest.broker.nats import subject
from tests.district.cluster import nats_program

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "district"


def _broker(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ingest.cli", "broker", *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_topics_become_subjects_as_nats_names_them() -> None:
    assert subject("campus/site-1/+/#") == "campus.site-1.*.>"
    assert subject("campus/sirens/gate.1") == "campus.sirens.gate//1"


def test_the_accounts_file_is_one_nats_server_takes(tmp_path: Path) -> None:
    auth = tmp_path / "auth.conf"
    gateway = _broker("add-gateway", "site-1", "gw-1", "--nats", str(auth))
    assert gateway.returncode == 0, gateway.stderr
    ingest = _broker(
        "add-ingest",
        "east",
        "--site",
        "site-1",
        "--write",
        "campus/sirens/gate",
        "--nats",
        str(auth),
    )
    assert ingest.returncode == 0, ingest.stderr
    assert len(gateway.stdout.strip()) >= 24
    assert gateway.stdout != ingest.stdout
    text = auth.read_text()
    assert gateway.stdout.strip() not in text  # only its bcrypt hash
    assert '"subscribe":{"allow":["campus.site-1.*.>"]}' in text
    assert '"publish":{"allow":["campus.sirens.gate"]}' in text
    node = tmp_path / "node.conf"
    node.write_text(
        'listen: 127.0.0.1:-1\njetstream { store_dir: "js" }\nmqtt { listen: 127.0.0.1:-1 }\n'
        'server_name: n1\ninclude "auth.conf"\n'
    )
    checked = subprocess.run(
        [nats_program(), "-t", "-c", str(node)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stderr + checked.stdout


def test_refusals(tmp_path: Path) -> None:
    auth = str(tmp_path / "auth.conf")
    for args, message in (
        (("add-ingest", "east", "--nats", auth), "give --site"),
        (("add-ingest", "east", "--site", "Site_1", "--nats", auth), "site 'Site_1' must match"),
        (("add-gateway", "s", "g", "--nats", auth, "--passwd", auth), "give --passwd and --acl"),
        (("add-gateway", "s", "g"), "give --passwd and --acl"),
        (("add-ingest", "east", "--site", "s", "--passwd", auth, "--acl", auth), "--site is for"),
        (("add-ingest", "e", "--site", "s", "--write", "campus/>", "--nats", auth), "> level"),
        (("add-ingest", "e", "--site", "s", "--write", "a//b", "--nats", auth), "an empty"),
    ):
        result = _broker(*args)
        assert result.returncode == 2, args
        assert message in result.stderr, (args, result.stderr)
    assert not (tmp_path / "auth.conf").exists()
    (tmp_path / "auth.conf.json").write_text('{"east": "not an account"}')
    result = _broker("add-gateway", "s", "g", "--nats", auth)
    assert result.returncode == 2
    assert "not the accounts this command writes" in result.stderr


def test_the_shipped_node_config_is_one_nats_server_takes(tmp_path: Path) -> None:
    """deploy/district/nats.conf with the accounts and certificates the commands make."""
    node = tmp_path / "nats.conf"
    node.write_text((DEPLOY / "nats.conf").read_text().replace("/var/lib/nats", str(tmp_path)))
    (tmp_path / "campus").mkdir()
    made = _broker("add-gateway", "site-1", "gw-1", "--nats", str(tmp_path / "campus/auth.conf"))
    assert made.returncode == 0, made.stderr
    certs = subprocess.run(
        [
            *(sys.executable, "-m", "ingest.cli", "broker", "certs"),
            *("--dir", str(tmp_path / "campus/tls"), "--host", "nats-1", "--host", "nats-2"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert certs.returncode == 0, certs.stderr
    checked = subprocess.run(
        [nats_program(), "-t", "-c", str(node)],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        env={**os.environ, "NATS_NAME": "nats-1"},
    )
    assert checked.returncode == 0, checked.stderr + checked.stdout
