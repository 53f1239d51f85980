"""Broker accounts from hostile names and concurrent commands (issue 20, items 8 and 9),
and a campus CA that vouches for its own hosts only (item 14):
a name with a line break is refused with exit 2 and both files stay as they were; twenty
``add-gateway`` commands at once keep every account (Mosquitto reading such files is
``test_broker_security.py``'s)."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ingest.broker.accounts import verify_password


def _broker(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ingest.cli", "broker", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


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
        runs = list(
            pool.map(lambda i: _broker("add-gateway", "sunshine-kg", f"gw-{i}", *files), range(20))
        )
    assert [r.returncode for r in runs] == [0] * 20
    accounts = dict(line.split(":", 1) for line in passwd.read_text().splitlines())
    for i, run in enumerate(runs):
        assert verify_password(run.stdout.strip(), accounts[f"sunshine-kg/gw-{i}"])
    assert not list(tmp_path.glob(".*.tmp"))
    assert acl.read_text().count("pattern readwrite campus/%u/#") == 1


def test_the_campus_ca_vouches_for_its_own_hosts_only(tmp_path: Path) -> None:
    """Item 14: phones are told to trust ca.crt, so it carries Name Constraints."""
    made = _broker(
        "certs", "--dir", str(tmp_path), "--host", "watch.example-kg.cn", "--host", "192.168.1.10"
    )
    assert made.returncode == 0, made.stderr
    ca = x509.load_pem_x509_certificate((tmp_path / "ca.crt").read_bytes())
    constraints = ca.extensions.get_extension_for_class(x509.NameConstraints)
    assert constraints.critical
    ok = subprocess.run(
        ["openssl", "verify", "-CAfile", str(tmp_path / "ca.crt"), str(tmp_path / "server.crt")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    # A certificate for another site, signed with the CA's own key, is not trusted.
    refused = _verify_forged(tmp_path, x509.DNSName("bank.example"))
    assert refused.returncode != 0
    assert "subtree" in refused.stdout + refused.stderr
    again = _broker("certs", "--dir", str(tmp_path), "--host", "bank.example")
    assert again.returncode == 2
    assert "only vouch for the hosts it was made for" in again.stderr


def test_a_ca_for_names_only_vouches_for_no_address(tmp_path: Path) -> None:
    """A constraint binds only the name types it lists: a CA made for DNS names alone
    (as compose makes it) must still not vouch for an address."""
    assert _broker("certs", "--dir", str(tmp_path), "--host", "mosquitto").returncode == 0
    refused = _verify_forged(tmp_path, x509.IPAddress(ip_address("192.168.1.1")))
    assert refused.returncode != 0, refused.stdout
    assert "subtree" in refused.stdout + refused.stderr


def test_a_ca_for_addresses_only_verifies_its_own_certificate(tmp_path: Path) -> None:
    assert _broker("certs", "--dir", str(tmp_path), "--host", "192.168.1.10").returncode == 0
    ok = subprocess.run(
        ["openssl", "verify", "-CAfile", str(tmp_path / "ca.crt"), str(tmp_path / "server.crt")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    refused = _verify_forged(tmp_path, x509.DNSName("bank.example"))
    assert refused.returncode != 0
    assert "subtree" in refused.stdout + refused.stderr


def _verify_forged(folder: Path, name: x509.GeneralName) -> subprocess.CompletedProcess[str]:
    """``openssl verify`` of a certificate for ``name`` signed with the CA's own key."""
    ca = x509.load_pem_x509_certificate((folder / "ca.crt").read_bytes())
    key = serialization.load_pem_private_key((folder / "ca.key").read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    now = datetime.now(UTC)
    forged = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "forged")]))
        .issuer_name(ca.subject)
        .public_key(ec.generate_private_key(ec.SECP256R1()).public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([name]), False)
        .sign(key, hashes.SHA256())
    )
    (folder / "forged.crt").write_bytes(forged.public_bytes(serialization.Encoding.PEM))
    return subprocess.run(
        ["openssl", "verify", "-CAfile", str(folder / "ca.crt"), str(folder / "forged.crt")],
        capture_output=True,
        text=True,
        check=False,
    )
