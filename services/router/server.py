"""Builds the router's gRPC server from settings, config and its peers' channels."""

from __future__ import annotations

from dataclasses import dataclass

from grpc import aio
from grpc_health.v1 import health
from switchyard.router.v1 import router_pb2, router_pb2_grpc

from services.common import grpcio
from services.common.config import Config
from services.common.telemetry import Telemetry
from services.router.config import RouterServiceSettings
from services.router.peers import Cache, Classifier, Providers
from services.router.pipeline import Limits, Pipeline
from services.router.servicer import RouterServicer

SERVICE_NAME = router_pb2.DESCRIPTOR.services_by_name["RouterService"].full_name


@dataclass
class Built:
    """A built, unstarted router and what must be closed after it stops."""

    server: aio.Server
    port: int
    health: health.aio.HealthServicer
    pipeline: Pipeline
    channels: list[aio.Channel]

    async def close(self) -> None:
        await self.pipeline.drain()
        for chan in self.channels:
            await chan.close()


def build_server(settings: RouterServiceSettings, config: Config, telemetry: Telemetry) -> Built:
    """Returns the router server bound to settings.host:port, with one channel per peer."""
    channels = [
        grpcio.channel(settings.classifier_target, telemetry),
        grpcio.channel(settings.cache_target, telemetry),
        grpcio.channel(settings.providers_target, telemetry),
    ]
    limits = Limits(
        settings.analysis_timeout, settings.cache_timeout, settings.retry_backoff_base, settings.retry_backoff_max
    )
    pipeline = Pipeline(config, Classifier(channels[0]), Cache(channels[1]), Providers(channels[2]), limits)
    server = grpcio.new_server(telemetry)
    router_pb2_grpc.add_RouterServiceServicer_to_server(RouterServicer(pipeline), server)
    health_servicer = grpcio.add_health_and_reflection(server, [SERVICE_NAME])
    port = grpcio.bind(server, settings.host, settings.port)
    return Built(server, port, health_servicer, pipeline, channels)
