"""Service identity: each process's certificate for mutual TLS, and the role a peer's certificate names.

A role is what a process is in the mesh — edge, router, classifier, cache, providers — or `client`
for an external gRPC caller of the router. A certificate names its role as DNS SAN
`<role>.switchyard.internal`, URI SAN `spiffe://switchyard/<role>` or subject CN `<role>.switchyard.internal`;
a caller dials a peer by the peer's DNS name (`peer=`), so it also checks it reached the service it meant.

`load_identity(role)` reads TlsSettings (SWITCHYARD_TLS, SWITCHYARD_TLS_DIR, SWITCHYARD_TLS_CA/CERT/KEY):
TLS is on unless SWITCHYARD_TLS=off says otherwise, and a process with TLS on but no files refuses to start.
A server re-reads its files when they change (cert-manager rotates them) at the next handshake; a
channel keeps the certificate it was opened with until the process restarts.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from switchyard.runtime.settings import TlsSettings

log = logging.getLogger(__name__)

ROLES: tuple[str, ...] = ("edge", "router", "classifier", "cache", "providers", "evaluator", "client")
DOMAIN = "switchyard.internal"
SPIFFE_PREFIX = "spiffe://switchyard/"


class TlsConfigError(RuntimeError):
    """The TLS settings name no usable identity (files missing or unreadable, TLS neither on nor off)."""


def dns_name(role: str) -> str:
    """Returns the DNS name a role's certificate carries, which callers dial it by."""
    return f"{role}.{DOMAIN}"


def spiffe_id(role: str) -> str:
    """Returns the URI SAN a role's certificate carries."""
    return f"{SPIFFE_PREFIX}{role}"


def role_of(name: str) -> str | None:
    """Returns the role a certificate name (SAN or CN) stands for, or None when it names none."""
    if name.startswith(SPIFFE_PREFIX):
        role = name.removeprefix(SPIFFE_PREFIX)
    elif name.endswith(f".{DOMAIN}"):
        role = name.removesuffix(f".{DOMAIN}")
    else:
        return None
    return role if role and "/" not in role and "." not in role else None


def peer_roles(auth: Mapping[str, Sequence[bytes]]) -> frozenset[str]:
    """Returns the roles a TLS peer's certificate names, from gRPC's auth context (empty without one)."""
    if b"ssl" not in auth.get("transport_security_type", ()):
        return frozenset()
    # Every call asks; the names are the certificate's, so they are read once per certificate.
    pem = auth.get("x509_pem_cert")
    if not pem:
        return _roles_named(auth)
    roles = _ROLES_BY_CERT.get(pem[0])
    if roles is None:
        if len(_ROLES_BY_CERT) >= _REMEMBERED_CERTS:
            _ROLES_BY_CERT.clear()
        roles = _ROLES_BY_CERT[pem[0]] = _roles_named(auth)
    return roles


# The roles of the certificates peers presented lately (a mesh has a handful; rotation adds a few).
_ROLES_BY_CERT: dict[bytes, frozenset[str]] = {}
_REMEMBERED_CERTS = 256


def _roles_named(auth: Mapping[str, Sequence[bytes]]) -> frozenset[str]:
    names = [
        value.decode(errors="replace")
        for key, values in auth.items()
        if key == "x509_common_name" or key.endswith("subject_alternative_name")
        for value in values
    ]
    return frozenset(role for role in map(role_of, names) if role is not None)


def authenticated(auth: Mapping[str, Sequence[bytes]]) -> bool:
    """Says whether a call came over TLS with a client certificate our CA signed."""
    return b"ssl" in auth.get("transport_security_type", ()) and bool(auth.get("x509_pem_cert"))


@dataclass(frozen=True, slots=True)
class Material:
    """The PEM bytes of an identity as read at one moment."""

    ca: bytes
    cert: bytes
    key: bytes


@dataclass
class Identity:
    """This process's role and the files of its certificate, key and trusted CA bundle."""

    role: str
    ca: Path
    cert: Path
    key: Path
    _stamp: tuple[float, ...] = field(default=(), repr=False)

    def read(self) -> Material:
        """Returns the files' contents; raises TlsConfigError when one cannot be read."""
        try:
            return Material(self.ca.read_bytes(), self.cert.read_bytes(), self.key.read_bytes())
        except OSError as exc:
            raise TlsConfigError(f"cannot read TLS file {exc.filename}: {exc.strerror}") from exc

    def _mtimes(self) -> tuple[float, ...]:
        try:
            return tuple(path.stat().st_mtime_ns for path in (self.ca, self.cert, self.key))
        except OSError:
            return self._stamp

    def server_credentials(self) -> grpc.ServerCredentials:
        """Returns server credentials that demand a client certificate from the CA and pick up rotated files."""
        self._stamp = self._mtimes()
        first = self.read()

        def fetch() -> grpc.ServerCertificateConfiguration | None:
            stamp = self._mtimes()
            if stamp == self._stamp:
                return None
            try:
                fresh = self.read()
            except TlsConfigError as exc:
                log.warning("keeping the current certificate: %s", exc)
                return None
            self._stamp = stamp
            log.info("TLS files changed: serving the new certificate to new connections")
            return _server_config(fresh)

        return grpc.dynamic_ssl_server_credentials(_server_config(first), fetch, require_client_authentication=True)

    def channel_credentials(self) -> grpc.ChannelCredentials:
        """Returns channel credentials presenting this identity's certificate and trusting its CA."""
        material = self.read()
        return grpc.ssl_channel_credentials(material.ca, material.key, material.cert)


def _server_config(material: Material) -> grpc.ServerCertificateConfiguration:
    return grpc.ssl_server_certificate_configuration([(material.key, material.cert)], root_certificates=material.ca)


def _paths(role: str, settings: TlsSettings) -> tuple[Path, Path, Path]:
    """Returns (CA, certificate, key) paths: explicit files first, then the directory's layout."""
    directory = Path(settings.tls_dir) if settings.tls_dir else None
    if directory is not None and (directory / "tls.crt").is_file():
        defaults = (directory / "ca.crt", directory / "tls.crt", directory / "tls.key")
    elif directory is not None:
        defaults = (directory / "ca.crt", directory / f"{role}.crt", directory / f"{role}.key")
    else:
        defaults = None
    explicit = (settings.tls_ca, settings.tls_cert, settings.tls_key)
    if defaults is None and not all(explicit):
        raise TlsConfigError(
            "mutual TLS between services is on by default: set SWITCHYARD_TLS_DIR (or SWITCHYARD_TLS_CA, "
            "SWITCHYARD_TLS_CERT and SWITCHYARD_TLS_KEY; `switchyard certs dev` writes a development set), "
            "or SWITCHYARD_TLS=off for plaintext"
        )
    fallback = defaults or (Path(), Path(), Path())
    chosen = [Path(given) if given else default for given, default in zip(explicit, fallback, strict=True)]
    return chosen[0], chosen[1], chosen[2]


def is_loopback(host: str) -> bool:
    """Says whether host is only reachable from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def load_identity(role: str, settings: TlsSettings | None = None, host: str | None = None) -> Identity | None:
    """Returns this process's identity for role, or None when SWITCHYARD_TLS=off (warned about, louder when
    host, where a server listens, is reachable from other machines). Raises TlsConfigError when TLS is on
    and its files are missing or unreadable, so the process fails at start, not at its first call."""
    settings = settings or TlsSettings()
    if settings.tls == "off":
        if host is not None and not is_loopback(host):
            log.error(
                "SWITCHYARD_TLS=off and listening on %s: any caller that can reach this port can call the %s "
                "service, unauthenticated and in plaintext",
                host,
                role,
            )
        else:
            log.warning("SWITCHYARD_TLS=off: calls between services are plaintext and callers are not authenticated")
        return None
    ca, cert, key = _paths(role, settings)
    identity = Identity(role, ca, cert, key)
    identity.channel_credentials()  # reads and parses every file now, so a bad one fails the start
    log.info("mutual TLS on: %s identity from %s (CA %s)", role, cert, ca)
    return identity


def identity_or_exit(role: str, host: str | None = None) -> Identity | None:
    """Returns load_identity(role) for a service's start-up; exits with the reason when it fails."""
    try:
        return load_identity(role, host=host)
    except TlsConfigError as exc:
        raise SystemExit(f"{role}: {exc}") from exc


def client_identity(settings: TlsSettings | None = None) -> Identity | None:
    """Returns the identity a command-line client (health checks) presents: the `client` role's files, or
    the process's own under cert-manager's layout; None when TLS is off or nothing is configured."""
    settings = settings or TlsSettings()
    if settings.tls == "off" or not settings.configured():
        return None
    return load_identity("client", settings)
