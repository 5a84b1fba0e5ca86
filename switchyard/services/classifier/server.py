"""Builds the classifier's gRPC server (not started), so tests and __main__ share one wiring."""

from __future__ import annotations

from grpc import aio
from grpc_health.v1 import health

from switchyard.classifier.v1 import classifier_pb2, classifier_pb2_grpc
from switchyard.ml.embedder import StaticEmbedder
from switchyard.runtime import grpcio
from switchyard.runtime.telemetry import Telemetry, init_telemetry
from switchyard.runtime.tls import Identity
from switchyard.services.classifier.analyzer import Analyzer, Models
from switchyard.services.classifier.config import ClassifierSettings
from switchyard.services.classifier.features.tokens import TokenEstimator
from switchyard.services.classifier.metrics import MeteredClassifierServicer

SERVICE_NAMES: tuple[str, ...] = (classifier_pb2.DESCRIPTOR.services_by_name["ClassifierService"].full_name,)
# CALLERS are the roles whose certificates may call the classifier (mutual TLS on): the router analyses requests.
CALLERS: tuple[str, ...] = ("router",)


def new_analyzer(settings: ClassifierSettings, estimator: TokenEstimator | None = None) -> Analyzer:
    """Returns the analyzer the settings describe; loads the encoding unless an estimator is given."""
    models = Models.load() if settings.models else Models(sensitivity=False, embedder=StaticEmbedder.load())
    return Analyzer(
        estimator or TokenEstimator.load(),
        midpoint_tokens=settings.complexity_midpoint_tokens,
        models=models,
        guard_system=settings.guard_system,
    )


def build_server(
    settings: ClassifierSettings,
    analyzer: Analyzer,
    telemetry: Telemetry | None = None,
    identity: Identity | None = None,
) -> tuple[aio.Server, int, health.aio.HealthServicer]:
    """Returns (server, bound port, health servicer) for the classifier, bound but not started: over mutual
    TLS serving CALLERS when given an identity, in plaintext without one."""
    server = grpcio.new_server(telemetry or init_telemetry("classifier", None), identity, CALLERS)
    classifier_pb2_grpc.add_ClassifierServiceServicer_to_server(
        MeteredClassifierServicer(analyzer, settings.offload_chars), server
    )
    health_servicer = grpcio.add_health_and_reflection(server, SERVICE_NAMES)
    port = grpcio.bind(server, settings.host, settings.port, identity)
    return server, port, health_servicer
