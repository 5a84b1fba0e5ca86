"""Builds the providers' gRPC server (not started), so tests and __main__ share one wiring."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import httpx
from grpc import aio
from grpc_health.v1 import health

from switchyard.providers.v1 import providers_pb2, providers_pb2_grpc
from switchyard.runtime import grpcio
from switchyard.runtime.telemetry import Telemetry
from switchyard.runtime.tls import Identity
from switchyard.services.providers.adapters import build_adapters
from switchyard.services.providers.adapters.base import ClientPool, Deployment
from switchyard.services.providers.config import ProviderSettings
from switchyard.services.providers.integrity.guard import IntegrityGuard, checked
from switchyard.services.providers.metrics import metered
from switchyard.services.providers.servicer import ProviderServicer

SERVICE_NAMES: tuple[str, ...] = (providers_pb2.DESCRIPTOR.services_by_name["ProviderService"].full_name,)
# CALLERS are the roles whose certificates may call the providers (mutual TLS on): only the router, which holds
# the budgets and keys that decide whether a call may spend.
CALLERS: tuple[str, ...] = ("router",)


class GrowingClientPool(ClientPool):
    """A ClientPool that gains a client for each base URL a config reload brings.

    Clients of base URLs a reload drops stay open until shutdown: calls in flight may still use them.
    """

    def __init__(self, base_urls: Iterable[str], max_connections: int, max_keepalive: int) -> None:
        bases = [base for base in dict.fromkeys(base_urls) if base]
        super().__init__(bases, max_connections=max_connections, max_keepalive=max_keepalive)
        self._limits = (max_connections, max_keepalive)
        self._known = set(bases)
        self._added: dict[str, ClientPool] = {}

    def add(self, base_urls: Iterable[str]) -> None:
        """Creates a client for every base URL not seen before."""
        for base in base_urls:
            if base and base not in self._known and base not in self._added:
                self._added[base] = ClientPool([base], *self._limits)

    def get(self, base_url: str) -> httpx.AsyncClient:
        added = self._added.get(base_url)
        return added.get(base_url) if added is not None else super().get(base_url)

    async def aclose(self) -> None:
        await super().aclose()
        for pool in self._added.values():
            await pool.aclose()


def new_client_pool(settings: ProviderSettings, deployments: Sequence[Deployment]) -> GrowingClientPool:
    """Returns one pooled httpx client per base URL of the callable deployments; close it on shutdown."""
    return GrowingClientPool(
        (d.api_base for d in deployments if d.available),
        max_connections=settings.max_connections,
        max_keepalive=settings.max_keepalive_connections,
    )


def publisher(servicer: ProviderServicer, clients: GrowingClientPool) -> Callable[[Sequence[Deployment]], None]:
    """Returns how a new deployment table (a reload, a key that arrived or rotated) reaches a built service:
    clients for its new base URLs first, then the table."""

    def publish(deployments: Sequence[Deployment]) -> None:
        clients.add(d.api_base for d in deployments if d.available)
        servicer.replace_deployments(deployments)

    return publish


@dataclass
class Built:
    """A bound, unstarted providers server and its servicer (whose deployments a reload replaces)."""

    server: aio.Server
    port: int
    health: health.aio.HealthServicer
    servicer: ProviderServicer


def build(
    settings: ProviderSettings,
    deployments: Sequence[Deployment],
    clients: ClientPool,
    telemetry: Telemetry,
    identity: Identity | None = None,
) -> Built:
    """Returns the providers service bound to settings.host:port, not started: over mutual TLS serving
    CALLERS when given an identity, in plaintext without one."""
    server = grpcio.new_server(telemetry, identity, CALLERS)
    guard = IntegrityGuard(strict=settings.integrity_strict)
    servicer = ProviderServicer(deployments, metered(checked(build_adapters(clients, telemetry), guard)))
    providers_pb2_grpc.add_ProviderServiceServicer_to_server(servicer, server)
    health_servicer = grpcio.add_health_and_reflection(server, SERVICE_NAMES)
    port = grpcio.bind(server, settings.host, settings.port, identity)
    return Built(server, port, health_servicer, servicer)


def build_server(
    settings: ProviderSettings, deployments: Sequence[Deployment], clients: ClientPool, telemetry: Telemetry
) -> tuple[aio.Server, int, health.aio.HealthServicer]:
    """Returns (server, bound port, health servicer) for the providers service, bound but not started."""
    built = build(settings, deployments, clients, telemetry)
    return built.server, built.port, built.health
