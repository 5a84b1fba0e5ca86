"""A development certificate authority: one CA and a certificate per Switchyard role, for mutual TLS.

`switchyard certs dev` and `switchyard up` (when no TLS files are configured) write the layout that
`tls.load_identity` reads from a directory: `ca.crt` (and the CA's `ca.key`), then `<role>.crt` and
`<role>.key` for each role. A role's certificate names it three ways — DNS `<role>.switchyard.internal`,
URI `spiffe://switchyard/<role>` and CN `<role>.switchyard.internal` — plus `localhost`, 127.0.0.1 and ::1,
so `switchyard health 127.0.0.1:PORT` verifies a local server without knowing its role.
Production certificates come from elsewhere (cert-manager, a company CA); nothing here is for them.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from switchyard.runtime.tls import ROLES, dns_name, spiffe_id

CA_NAME = "Switchyard development CA"
# Development certificates live a year; a CA that expires within RENEW_BEFORE is replaced by `ensure_dev_ca`.
VALIDITY = datetime.timedelta(days=365)
RENEW_BEFORE = datetime.timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Authority:
    """A CA's key and certificate, which sign the roles' certificates."""

    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate


def new_authority(name: str = CA_NAME) -> Authority:
    """Returns a fresh self-signed CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Authority(key, cert)


def issue(authority: Authority, role: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """Returns a key and a certificate naming role, signed by authority, good for both ends of a TLS call."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    names: list[x509.GeneralName] = [
        x509.DNSName(dns_name(role)),
        x509.UniformResourceIdentifier(spiffe_id(role)),
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns_name(role))]))
        .issuer_name(authority.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(min(now + VALIDITY, authority.cert.not_valid_after_utc))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
        .sign(authority.key, hashes.SHA256())
    )
    return key, cert


def _write(path: Path, data: bytes, private: bool = False) -> None:
    """Writes data to path atomically (a reader never sees half a file), private files owner-only."""
    partial = path.with_name(f".{path.name}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.replace(partial, path)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    encoding, private = serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8
    return key.private_bytes(encoding, private, serialization.NoEncryption())


def write_dev_ca(directory: Path, roles: tuple[str, ...] = ROLES, authority: Authority | None = None) -> Path:
    """Writes a CA (a new one unless given) and a certificate and key per role into directory; returns it."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    authority = authority or new_authority()
    _write(directory / "ca.key", _key_pem(authority.key), private=True)
    _write(directory / "ca.crt", authority.cert.public_bytes(serialization.Encoding.PEM))
    for role in roles:
        key, cert = issue(authority, role)
        _write(directory / f"{role}.key", _key_pem(key), private=True)
        _write(directory / f"{role}.crt", cert.public_bytes(serialization.Encoding.PEM))
    return directory


def _usable(directory: Path, roles: tuple[str, ...]) -> bool:
    """Says whether directory holds a CA valid for a while yet and every role's files."""
    try:
        ca = x509.load_pem_x509_certificate((directory / "ca.crt").read_bytes())
    except (OSError, ValueError):
        return False
    if ca.not_valid_after_utc - datetime.datetime.now(datetime.UTC) < RENEW_BEFORE:
        return False
    return all((directory / f"{role}.crt").is_file() and (directory / f"{role}.key").is_file() for role in roles)


def ensure_dev_ca(directory: Path, roles: tuple[str, ...] = ROLES) -> Path:
    """Returns directory once it holds a usable development CA and role certificates, writing them when not."""
    if _usable(directory, roles):
        return directory
    return write_dev_ca(directory, roles)


def state_dir() -> Path:
    """Returns the per-user directory where `switchyard up` keeps its development CA."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "switchyard" / "tls"
