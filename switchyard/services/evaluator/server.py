"""Builds the evaluator's gRPC server (not started) around an Evaluator, so tests and __main__ share one wiring."""

from __future__ import annotations

from grpc import aio
from grpc_health.v1 import health

from switchyard.evaluator.v1 import evaluator_pb2, evaluator_pb2_grpc
from switchyard.runtime import grpcio
from switchyard.runtime.telemetry import Telemetry, init_telemetry
from switchyard.runtime.tls import Identity
from switchyard.services.evaluator.config import EvaluatorSettings
from switchyard.services.evaluator.core import Evaluator
from switchyard.services.evaluator.servicer import EvaluatorServicer

SERVICE_NAMES: tuple[str, ...] = (evaluator_pb2.DESCRIPTOR.services_by_name["EvaluatorService"].full_name,)
# CALLERS are the roles whose certificates may call the evaluator (mutual TLS on): the router forwards
# samples and feedback and asks for reports; the edge reaches it only through the router.
CALLERS: tuple[str, ...] = ("router",)


def build_server(
    settings: EvaluatorSettings,
    evaluator: Evaluator,
    telemetry: Telemetry | None = None,
    identity: Identity | None = None,
) -> tuple[aio.Server, int, health.aio.HealthServicer]:
    """Returns (server, bound port, health servicer), bound but not started: mutual TLS serving CALLERS with an
    identity, plaintext without one."""
    server = grpcio.new_server(telemetry or init_telemetry("evaluator", None), identity, CALLERS)
    evaluator_pb2_grpc.add_EvaluatorServiceServicer_to_server(EvaluatorServicer(evaluator), server)
    health_servicer = grpcio.add_health_and_reflection(server, SERVICE_NAMES)
    port = grpcio.bind(server, settings.host, settings.port, identity)
    return server, port, health_servicer
