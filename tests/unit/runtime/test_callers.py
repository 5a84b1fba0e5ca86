"""The role check every gRPC service runs on its callers, and where a process finds its own identity."""

from __future__ import annotations

import logging
from pathlib import Path

import grpc
import pytest

from switchyard.runtime.callers import judge
from switchyard.runtime.certs import write_dev_ca
from switchyard.runtime.settings import TlsSettings
from switchyard.runtime.tls import TlsConfigError, load_identity, peer_roles, role_of


def auth(*names: str, common_name: str = "") -> dict[str, list[bytes]]:
    """Returns an auth context as gRPC gives it for a TLS peer whose certificate carries these SANs (a
    certificate of its own: another name is another certificate)."""
    pem = f"-----BEGIN CERTIFICATE-----{names}{common_name}...".encode()
    context = {
        "transport_security_type": [b"ssl"],
        "x509_pem_cert": [pem],
        "x509_subject_alternative_name": [name.encode() for name in names],
    }
    if common_name:
        context["x509_common_name"] = [common_name.encode()]
    return context


@pytest.mark.parametrize(
    ("name", "role"),
    [
        ("router.switchyard.internal", "router"),
        ("spiffe://switchyard/cache", "cache"),
        ("localhost", None),
        ("127.0.0.1", None),
        ("a.router.switchyard.internal", None),
        ("spiffe://switchyard/router/extra", None),
        ("spiffe://other-trust-domain/router", None),
        ("router.switchyard.internal.evil.example", None),
    ],
)
def test_a_certificate_name_stands_for_a_role_only_in_the_mesh_s_own_forms(name: str, role: str | None) -> None:
    assert role_of(name) == role


def test_the_roles_of_a_peer_come_from_its_sans_and_common_name() -> None:
    assert peer_roles(auth("localhost", "spiffe://switchyard/edge")) == {"edge"}
    assert peer_roles(auth(common_name="client.switchyard.internal")) == {"client"}
    assert peer_roles({"transport_security_type": [b"insecure"]}) == frozenset()


def test_the_cache_serves_the_router() -> None:
    store = "/switchyard.cache.v1.CacheService/Store"
    assert judge("cache", {"router"}, store, auth("router.switchyard.internal")) is None
    assert judge("cache", {"router"}, store, auth("spiffe://switchyard/router")) is None


def test_a_role_the_service_does_not_list_is_denied_with_who_may_call() -> None:
    refusal = judge("cache", {"router"}, "/switchyard.cache.v1.CacheService/Store", auth("edge.switchyard.internal"))
    assert refusal is not None
    assert refusal.code == grpc.StatusCode.PERMISSION_DENIED
    assert refusal.message == "cache does not accept calls from edge (accepts: router)"
    assert refusal.caller == "edge"


def test_a_caller_without_a_certificate_or_a_role_is_unauthenticated() -> None:
    plain = judge("router", {"edge"}, "/switchyard.router.v1.RouterService/ChatCompletion", {})
    assert plain is not None and plain.code == grpc.StatusCode.UNAUTHENTICATED
    nameless = judge("router", {"edge"}, "/switchyard.router.v1.RouterService/ChatCompletion", auth("localhost"))
    assert nameless is not None and nameless.code == grpc.StatusCode.UNAUTHENTICATED
    assert "names no Switchyard role" in nameless.message


def test_health_checks_are_open_to_any_authenticated_peer_only() -> None:
    check = "/grpc.health.v1.Health/Check"
    assert judge("providers", {"router"}, check, auth("edge.switchyard.internal")) is None
    assert judge("providers", {"router"}, check, auth("localhost")) is None
    refusal = judge("providers", {"router"}, check, {"transport_security_type": [b"insecure"]})
    assert refusal is not None and refusal.code == grpc.StatusCode.UNAUTHENTICATED


def test_tls_is_on_unless_turned_off_and_without_files_the_process_does_not_start(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with pytest.raises(TlsConfigError, match="SWITCHYARD_TLS=off for plaintext"):
        load_identity("router", TlsSettings(tls=None, tls_dir="", tls_ca="", tls_cert="", tls_key=""))
    with caplog.at_level(logging.WARNING):
        assert load_identity("router", TlsSettings(tls="off"), host="127.0.0.1") is None
        assert load_identity("router", TlsSettings(tls="off"), host="0.0.0.0") is None
    levels = [record.levelno for record in caplog.records]
    assert levels == [logging.WARNING, logging.ERROR], "plaintext on a non-loopback address is said louder"


def test_an_empty_variable_counts_as_unset() -> None:
    assert TlsSettings.model_validate({"SWITCHYARD_TLS": ""}).tls is None
    assert TlsSettings.model_validate({"SWITCHYARD_TLS": " OFF "}).tls == "off"


def test_a_dev_directory_gives_each_role_its_own_files(tmp_path: Path) -> None:
    directory = write_dev_ca(tmp_path / "tls")
    identity = load_identity("cache", TlsSettings(tls="on", tls_dir=str(directory)))
    assert identity is not None
    assert (identity.ca, identity.cert, identity.key) == (
        directory / "ca.crt",
        directory / "cache.crt",
        directory / "cache.key",
    )
    assert (directory / "cache.key").stat().st_mode & 0o077 == 0, "private keys are owner-only"


def test_a_cert_manager_directory_and_explicit_files_are_read_too(tmp_path: Path) -> None:
    dev = write_dev_ca(tmp_path / "dev")
    mounted = tmp_path / "mounted"
    mounted.mkdir()
    for source, name in (("ca.crt", "ca.crt"), ("router.crt", "tls.crt"), ("router.key", "tls.key")):
        (mounted / name).write_bytes((dev / source).read_bytes())
    identity = load_identity("router", TlsSettings(tls="on", tls_dir=str(mounted)))
    assert identity is not None and identity.cert == mounted / "tls.crt"
    explicit = TlsSettings(tls_ca=str(dev / "ca.crt"), tls_cert=str(dev / "edge.crt"), tls_key=str(dev / "edge.key"))
    edge = load_identity("edge", explicit)
    assert edge is not None and edge.key == dev / "edge.key"


def test_an_unreadable_file_fails_at_start_with_its_name(tmp_path: Path) -> None:
    directory = write_dev_ca(tmp_path / "tls")
    (directory / "router.key").unlink()
    with pytest.raises(TlsConfigError, match=r"router\.key"):
        load_identity("router", TlsSettings(tls="on", tls_dir=str(directory)))
