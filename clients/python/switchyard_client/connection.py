"""Channels to the router: mutual TLS with the gateway's CA and this caller's `client` certificate, and the
virtual key in each call's metadata."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from grpc import aio

# The name the router's certificate carries (DNS SAN); a caller dialling an address checks the
# certificate against it, so it knows it reached the router and not another service of the mesh.
ROUTER_NAME = "router.switchyard.internal"


@dataclass(frozen=True)
class TLSConfig:
    """PEM files: the gateway's CA bundle, and the certificate and key this caller presents (a `client`
    role certificate, as `switchyard certs dev` writes them). server_name is the name to check the
    router's certificate for; empty means the target's own host name."""

    ca: str | Path
    cert: str | Path | None = None
    key: str | Path | None = None
    server_name: str = ROUTER_NAME

    def credentials(self) -> grpc.ChannelCredentials:
        """Returns channel credentials; raises OSError naming a file that cannot be read."""
        if (self.cert is None) != (self.key is None):
            raise ValueError("TLSConfig needs both cert and key for mutual TLS, or neither")
        key = Path(self.key).read_bytes() if self.key is not None else None
        cert = Path(self.cert).read_bytes() if self.cert is not None else None
        return grpc.ssl_channel_credentials(Path(self.ca).read_bytes(), key, cert)

    def options(self) -> list[tuple[str, Any]]:
        return [("grpc.ssl_target_name_override", self.server_name)] if self.server_name else []


def open_channel(target: str, tls: TLSConfig | None, options: Sequence[tuple[str, Any]] = ()) -> grpc.Channel:
    """Returns a blocking channel to target: mutual TLS with tls, plaintext without."""
    if tls is None:
        return grpc.insecure_channel(target, options=list(options))
    return grpc.secure_channel(target, tls.credentials(), options=[*tls.options(), *options])


def open_aio_channel(target: str, tls: TLSConfig | None, options: Sequence[tuple[str, Any]] = ()) -> aio.Channel:
    """Returns an asyncio channel to target: mutual TLS with tls, plaintext without."""
    if tls is None:
        return aio.insecure_channel(target, options=list(options))
    return aio.secure_channel(target, tls.credentials(), options=[*tls.options(), *options])


def auth_metadata(api_key: str | None) -> tuple[tuple[str, str], ...]:
    """Returns the call metadata carrying the virtual key (none without one)."""
    return (("authorization", f"Bearer {api_key}"),) if api_key else ()
