"""The gateway the client's tests call, named by the environment (`tests/clients` in the Switchyard
repository starts one and sets these):

    SWITCHYARD_TARGET     the router's gRPC address, host:port
    SWITCHYARD_API_KEY    a virtual key the gateway accepts for the models `default` and `solo`
    SWITCHYARD_TLS_DIR    ca.crt, client.crt and client.key (`switchyard certs dev` writes them)
    SWITCHYARD_FAKE_URL   the gateway's scriptable fake provider, to make its upstream fail on purpose
"""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from switchyard_client import TLSConfig

_VARIABLES = ("SWITCHYARD_TARGET", "SWITCHYARD_API_KEY", "SWITCHYARD_TLS_DIR", "SWITCHYARD_FAKE_URL")


@dataclass(frozen=True)
class Gateway:
    target: str
    api_key: str
    tls: TLSConfig
    fake_url: str

    def fake(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """Calls the fake provider's admin API and returns its JSON answer."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.fake_url}{path}", data=data, method=method)
        request.add_header("content-type", "application/json")
        with urllib.request.urlopen(request, timeout=5) as reply:
            text = reply.read()
        return json.loads(text) if text else None

    def upstream_calls(self, model: str) -> int:
        """Returns how many requests for an upstream model the fake provider received since the test began."""
        return sum(
            1 for entry in self.fake("GET", "/_fake/requests") if (entry.get("body") or {}).get("model") == model
        )


@pytest.fixture(scope="session")
def gateway_env() -> Gateway:
    missing = [name for name in _VARIABLES if not os.environ.get(name)]
    if missing:
        pytest.fail(f"these tests call a running Switchyard gateway: set {', '.join(missing)} (see tests/conftest.py)")
    tls_dir = Path(os.environ["SWITCHYARD_TLS_DIR"])
    tls = TLSConfig(ca=tls_dir / "ca.crt", cert=tls_dir / "client.crt", key=tls_dir / "client.key")
    return Gateway(
        os.environ["SWITCHYARD_TARGET"], os.environ["SWITCHYARD_API_KEY"], tls, os.environ["SWITCHYARD_FAKE_URL"]
    )


@pytest.fixture
def gateway(gateway_env: Gateway) -> Iterator[Gateway]:
    """The gateway, its fake provider's scripts and request log cleared before and after the test."""
    gateway_env.fake("DELETE", "/_fake/requests")
    yield gateway_env
    gateway_env.fake("DELETE", "/_fake/scripts")
    gateway_env.fake("DELETE", "/_fake/requests")
