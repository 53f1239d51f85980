"""A small private CA and a server certificate for campuses without one
(``campus-ingest broker certs``): for the broker's TLS listener on 8883 and the console's
HTTPS. Gateways and phones trust ``ca.crt``; the keys are written owner-only.

Phones are asked to trust this CA, so it must not be able to vouch for any other site: it
carries critical Name Constraints permitting only the hosts it was made for (each DNS name
with its subdomains, each address alone). A later run for a host outside them is refused:
make a new CA (move ``ca.key`` away) and hand out its ``ca.crt`` again."""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from campuswatch.atomicfile import write_atomic
from ingest.broker.accounts import BrokerError

CA_DAYS = 3650
SERVER_DAYS = 825
_CA_USAGE = x509.KeyUsage(
    digital_signature=True,
    key_cert_sign=True,
    crl_sign=True,
    content_commitment=False,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    encipher_only=False,
    decipher_only=False,
)


def make_certificates(directory: Path, hosts: list[str], now: dt.datetime | None = None) -> None:
    """``ca.crt``/``ca.key`` (made once, then reused) and ``server.crt``/``server.key`` for
    ``hosts`` (DNS names or IP addresses) in ``directory``."""
    if not hosts:
        raise BrokerError("give at least one --host (the name or address gateways connect to)")
    now = now or dt.datetime.now(dt.UTC)
    names = [_general_name(h) for h in hosts]
    ca_key, ca_cert = _ca(directory, now, names)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        # Not a host name: clients match the SANs, and a CN that looks like one would be
        # held against the CA's name constraints too (an address-only CA refused it).
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "campuswatch server")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=SERVER_DAYS))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    _write_key(directory / "server.key", key)
    write_atomic(
        directory / "server.crt", cert.public_bytes(serialization.Encoding.PEM), mode=0o644
    )


def _general_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        if not host or any(c.isspace() for c in host):
            raise BrokerError(f"{host!r} is neither a host name nor an IP address") from None
        return x509.DNSName(host)


def _ca(
    directory: Path, now: dt.datetime, names: list[x509.GeneralName]
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key_path, cert_path = directory / "ca.key", directory / "ca.crt"
    if key_path.exists() and cert_path.exists():
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise BrokerError(f"{key_path} is not the key of a CA made by this command")
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        _check_permitted(cert, names, cert_path)
        return key, cert
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "campuswatch private CA")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_CA_USAGE, critical=True)
        .add_extension(x509.NameConstraints(_permitted(names), None), critical=True)
        .sign(key, hashes.SHA256())
    )
    _write_key(key_path, key)
    write_atomic(cert_path, cert.public_bytes(serialization.Encoding.PEM), mode=0o644)
    return key, cert


def _permitted(names: list[x509.GeneralName]) -> list[x509.GeneralName]:
    """The CA's permitted subtrees. A constraint binds only the name types it lists
    (RFC 5280 4.2.1.10): with no address among the hosts, an address that matches none
    is listed (0.0.0.0/32, ::/128), and with no DNS name, the reserved ``invalid``."""
    trees = [_subtree(n) for n in names]
    if not any(isinstance(n, x509.IPAddress) for n in names):
        trees += [
            x509.IPAddress(ipaddress.ip_network("0.0.0.0/32")),
            x509.IPAddress(ipaddress.ip_network("::/128")),
        ]
    if not any(isinstance(n, x509.DNSName) for n in names):
        trees.append(x509.DNSName("invalid"))
    return trees


def _subtree(name: x509.GeneralName) -> x509.GeneralName:
    """What a CA made for ``name`` may vouch for: the name (and its subdomains), or the
    one address."""
    if isinstance(name, x509.IPAddress):
        return x509.IPAddress(ipaddress.ip_network(name.value))
    return name


def _check_permitted(ca: x509.Certificate, names: list[x509.GeneralName], where: Path) -> None:
    try:
        constraints = ca.extensions.get_extension_for_class(x509.NameConstraints).value
    except x509.ExtensionNotFound:
        return  # a CA of an earlier version: unconstrained
    permitted = constraints.permitted_subtrees or []
    for name in names:
        if not any(_within(name, tree) for tree in permitted):
            raise BrokerError(
                f"{where} may only vouch for the hosts it was made for; {name.value} is not"
                " one: make a new CA (move ca.key away) and give gateways and phones its"
                " ca.crt"
            )


def _within(name: x509.GeneralName, tree: x509.GeneralName) -> bool:
    if isinstance(name, x509.IPAddress) and isinstance(tree, x509.IPAddress):
        return name.value in tree.value  # type: ignore[operator]
    if isinstance(name, x509.DNSName) and isinstance(tree, x509.DNSName):
        host, base = name.value.lower(), tree.value.lower()
        return host == base or host.endswith("." + base)
    return False


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    write_atomic(path, pem, mode=0o600)
