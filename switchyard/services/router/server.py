"""Builds the router's gRPC server from settings, config, its peers' channels and the shared state."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from grpc import aio
from grpc_health.v1 import health, health_pb2

from switchyard.config import Config
from switchyard.redisutil import new_client
from switchyard.router.v1 import admin_pb2, admin_pb2_grpc, router_pb2, router_pb2_grpc
from switchyard.runtime import grpcio
from switchyard.runtime.errors import SwitchyardError
from switchyard.runtime.tasks import cancel_and_wait
from switchyard.runtime.telemetry import Telemetry
from switchyard.runtime.tls import Identity
from switchyard.services.router import metrics
from switchyard.services.router.config import RouterServiceSettings
from switchyard.services.router.conversations import Conversations, ResponseStore, open_responses
from switchyard.services.router.counting import TokenCounter
from switchyard.services.router.embeddings import Embedder
from switchyard.services.router.evaluation import GrpcSink, NoSink, RedisSink, Sampler, Sink
from switchyard.services.router.feedback import EvaluatorPeer, FeedbackDesk
from switchyard.services.router.governance.admin import AdminServicer
from switchyard.services.router.governance.tally import Governance
from switchyard.services.router.peers import Cache, Classifier, Providers
from switchyard.services.router.pipeline import Pipeline, PipelineOptions
from switchyard.services.router.probes import HealthChecker
from switchyard.services.router.servicer import RouterServicer
from switchyard.services.router.state import RouterState

log = logging.getLogger(__name__)
SERVICE_NAME = router_pb2.DESCRIPTOR.services_by_name["RouterService"].full_name
ADMIN_SERVICE_NAME = admin_pb2.DESCRIPTOR.services_by_name["AdminService"].full_name
# CALLERS are the roles whose certificates may call the router (mutual TLS on): the edge, and external gRPC
# clients holding a `client` certificate (who still present a virtual key, checked as at the edge).
# The evaluator asks its judge through the front door like a client (with the master key when auth is on).
CALLERS: tuple[str, ...] = ("edge", "client", "evaluator")
# SHARED_STATE is a grpc.health.v1 service name of its own: NOT_SERVING while Redis cannot be reached
# and the router serves from local state. The router itself stays SERVING meanwhile.
SHARED_STATE = "switchyard.router.v1.SharedState"
_WATCH_EVERY_S = 0.25


class SharedStateWatch:
    """Keeps the SharedState health status in step with the state's degradation.

    `listeners` are told of every change (True: degraded); a metrics exporter adds its gauge here.
    The transition itself is logged by the state.
    """

    def __init__(self, state: RouterState, servicer: health.aio.HealthServicer) -> None:
        self._state, self._servicer = state, servicer
        self.listeners: list[Callable[[bool], None]] = []
        self._last: bool | None = None

    async def check(self) -> None:
        """Publishes the state's degradation if it changed since the last check."""
        degraded = self._state.degraded
        if degraded == self._last:
            return
        self._last = degraded
        status = health_pb2.HealthCheckResponse.NOT_SERVING if degraded else health_pb2.HealthCheckResponse.SERVING
        await self._servicer.set(SHARED_STATE, status)
        for listener in self.listeners:
            listener(degraded)

    async def run(self) -> None:
        while True:
            await self.check()
            await asyncio.sleep(_WATCH_EVERY_S)


@dataclass
class Built:
    """A built, unstarted router and what must be closed after it stops."""

    server: aio.Server
    port: int
    health: health.aio.HealthServicer
    pipeline: Pipeline
    channels: list[aio.Channel]
    state: RouterState
    providers: Providers
    watch: SharedStateWatch
    governance: Governance
    sink: Sink
    responses: ResponseStore
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def start_background(self, settings: RouterServiceSettings) -> None:
        """Starts the deployment refresh, the shared-state watch and (when on) the active health checks,
        and points the metrics' circuit, rate-limit and shared-state gauges at this router."""
        pipeline = self.pipeline
        metrics.watch_state(self.state, lambda: pipeline.policies)
        self.tasks.append(asyncio.create_task(_every(pipeline.refresh_deployments, settings.deployments_refresh)))
        self.tasks.append(asyncio.create_task(self.watch.run()))
        self.tasks.append(asyncio.create_task(self.sink.run()))
        if settings.health_interval > 0:
            checker = HealthChecker(
                self.state,
                self.providers,
                policies=lambda: pipeline.policies,
                unavailable=lambda: pipeline.unavailable,
                interval=settings.health_interval,
                timeout=settings.health_timeout,
            )
            self.tasks.append(asyncio.create_task(checker.run()))

    async def close(self) -> None:
        await cancel_and_wait(self.tasks)
        await self.pipeline.drain()
        governor = self.governance.governor
        await governor.alerts.close()
        await governor.store.close()
        await self.governance.ledger.close()
        await self.state.close()
        await self.responses.close()
        for chan in self.channels:
            await chan.close()


async def _every(work: Callable[[], Awaitable[None]], seconds: float) -> None:
    while True:
        with contextlib.suppress(SwitchyardError):
            await work()
        await asyncio.sleep(seconds)


def build_server(
    settings: RouterServiceSettings,
    config: Config,
    telemetry: Telemetry,
    state: RouterState,
    governance: Governance,
    *,
    identity: Identity | None = None,
) -> Built:
    """Returns the router server bound to settings.host:port, with one channel per peer, the given state and
    governance (keys, budgets, ledger), serving RouterService and AdminService; with an identity, every hop
    is mutual TLS and only CALLERS may call it."""
    channels = [
        grpcio.channel(settings.classifier_target, telemetry, identity, "classifier"),
        grpcio.channel(settings.cache_target, telemetry, identity, "cache"),
        grpcio.channel(settings.providers_target, telemetry, identity, "providers"),
    ]
    options = PipelineOptions(
        settings.analysis_timeout,
        settings.cache_timeout,
        settings.retry_backoff_base,
        settings.retry_backoff_max,
    )
    evaluator = (
        grpcio.channel(settings.evaluator_target, telemetry, identity, "evaluator")
        if settings.evaluator_target
        else None
    )
    if evaluator is not None:
        channels.append(evaluator)
    sink = _sink(settings, config, evaluator)
    providers = Providers(channels[2])
    classifier = Classifier(channels[0], settings.classifier_target)
    cache = Cache(channels[1], settings.cache_target)
    pipeline = Pipeline(
        config,
        classifier,
        cache,
        providers,
        options,
        state=state,
        governance=governance,
        tracer=telemetry.tracer,
        sampler=None,
    )
    pipeline_sampler = Sampler(lambda: pipeline.policies.config.switchyard.evaluation, sink)
    pipeline.use_sampler(pipeline_sampler)
    peer = EvaluatorPeer(evaluator)
    responses = open_responses(
        lambda: pipeline.policies.config, config.state_url(), settings.state_prefix, settings.state_timeout * 10
    )
    conversations = Conversations(responses, governance.governor, lambda: pipeline.policies.config.switchyard.responses)
    server = grpcio.new_server(telemetry, identity, CALLERS)
    router_pb2_grpc.add_RouterServiceServicer_to_server(
        RouterServicer(
            pipeline,
            FeedbackDesk(governance, peer),
            Embedder(lambda: pipeline.policies.table, providers, governance, classifier, settings.analysis_timeout),
            TokenCounter(classifier, governance.governor, settings.analysis_timeout),
            conversations,
        ),
        server,
    )
    admin_pb2_grpc.add_AdminServiceServicer_to_server(AdminServicer(governance, cache, peer), server)
    health_servicer = grpcio.add_health_and_reflection(server, [SERVICE_NAME, ADMIN_SERVICE_NAME])
    port = grpcio.bind(server, settings.host, settings.port, identity)
    watch = SharedStateWatch(state, health_servicer)
    return Built(
        server, port, health_servicer, pipeline, channels, state, providers, watch, governance, sink, responses
    )


def _sink(settings: RouterServiceSettings, config: Config, evaluator: aio.Channel | None) -> Sink:
    """Returns where samples for the evaluator go: the Redis stream when the config names Redis, else the
    evaluator over gRPC, else nowhere."""
    evaluation = config.switchyard.evaluation
    if evaluator is None and not config.state_url():
        return NoSink()
    if config.state_url():
        client = new_client(config.state_url(), settings.state_timeout * 10)
        return RedisSink(client, f"{settings.state_prefix}evaluation", evaluation.queue, evaluation.stream_max)
    assert evaluator is not None
    return GrpcSink(evaluator, evaluation.queue)
