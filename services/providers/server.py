"""Builds the providers' gRPC server (not started), so tests and __main__ share one wiring."""

from __future__ import annotations

from collections.abc import Sequence

from grpc import aio
from grpc_health.v1 import health
from switchyard.providers.v1 import providers_pb2, providers_pb2_grpc

from services.common import grpcio
from services.common.telemetry import Telemetry
from services.providers.adapters import build_adapters
from services.providers.adapters.base import ClientPool, Deployment
from services.providers.config import ProviderSettings
from services.providers.servicer import ProviderServicer

SERVICE_NAMES: tuple[str, ...] = (providers_pb2.DESCRIPTOR.services_by_name["ProviderService"].full_name,)


def new_client_pool(settings: ProviderSettings, deployments: Sequence[Deployment]) -> ClientPool:
    """Returns one pooled httpx client per base URL of the callable deployments; close it on shutdown."""
    return ClientPool(
        (d.api_base for d in deployments if d.available),
        max_connections=settings.max_connections,
        max_keepalive=settings.max_keepalive_connections,
    )


def build_server(
    settings: ProviderSettings, deployments: Sequence[Deployment], clients: ClientPool, telemetry: Telemetry
) -> tuple[aio.Server, int, health.aio.HealthServicer]:
    """Returns (server, bound port, health servicer) for the providers service, bound but not started."""
    server = grpcio.new_server(telemetry)
    servicer = ProviderServicer(deployments, build_adapters(clients, telemetry))
    providers_pb2_grpc.add_ProviderServiceServicer_to_server(servicer, server)
    health_servicer = grpcio.add_health_and_reflection(server, SERVICE_NAMES)
    port = grpcio.bind(server, settings.host, settings.port)
    return server, port, health_servicer
