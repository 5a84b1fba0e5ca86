"""gRPC plumbing shared by every service: servers with health (and reflection when asked), channels, shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
from collections.abc import Awaitable, Callable, Collection, Coroutine, Sequence
from typing import Any

import grpc
from grpc import aio
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from switchyard.runtime.callers import CallerCheck
from switchyard.runtime.settings import ReflectionSettings, ServiceSettings
from switchyard.runtime.telemetry import Telemetry
from switchyard.runtime.tls import Identity, dns_name

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 64 * 1024 * 1024
_OPTIONS: list[tuple[str, int]] = [
    # Without this, a second server can bind a port already in use and steal half its traffic.
    ("grpc.so_reuseport", 0),
    # Clients reconnect (and re-resolve DNS) at least every ~30 s, so replicas added behind a headless
    # Service get traffic; calls in flight on an aged connection get the grace to finish (long streams too).
    ("grpc.max_connection_age_ms", 30_000),
    ("grpc.max_connection_age_grace_ms", 300_000),
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
]
_CHANNEL_OPTIONS: list[tuple[str, int | str]] = [
    # The router owns retries and failover; gRPC's own retry machinery only costs time per call.
    ("grpc.enable_retries", 0),
    # Every address a target resolves to (several replicas: `dns:///svc-headless:port` on Kubernetes, or
    # `ipv4:a:p1,a:p2`) gets a connection and calls take turns; pick_first would pin each client to one.
    ("grpc.lb_policy_name", "round_robin"),
    # A target's replicas are looked up again at most this often (on a reconnect): new ones join within seconds.
    ("grpc.dns_min_time_between_resolutions_ms", 5_000),
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    # A restarted peer is reconnected to within a second (callers wait_for_ready); min_reconnect_backoff_ms
    # is the floor of one connection attempt's deadline, kept long enough for a TLS handshake.
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 1_000),
    ("grpc.max_reconnect_backoff_ms", 1_000),
]


# A replica that dies leaves the calls already on its connection failing UNAVAILABLE before any reply;
# a caller that asks for it retries those on another replica. gRPC retries only a call no response has
# reached, so nothing answered is repeated (a call the dead replica had started is sent again: its own
# record died with it).
_RETRY_UNAVAILABLE: list[tuple[str, int | str]] = [
    ("grpc.enable_retries", 1),
    (
        "grpc.service_config",
        json.dumps(
            {
                "methodConfig": [
                    {
                        "name": [{}],
                        "retryPolicy": {
                            "maxAttempts": 3,
                            "initialBackoff": "0.02s",
                            "maxBackoff": "0.2s",
                            "backoffMultiplier": 2,
                            "retryableStatusCodes": ["UNAVAILABLE"],
                        },
                    }
                ],
                "loadBalancingConfig": [{"round_robin": {}}],
            }
        ),
    ),
]


def _options(retry_unavailable: bool) -> list[tuple[str, int | str]]:
    if not retry_unavailable:
        return _CHANNEL_OPTIONS
    return [o for o in _CHANNEL_OPTIONS if o[0] != "grpc.enable_retries"] + _RETRY_UNAVAILABLE


class PortInUseError(RuntimeError):
    """The address a service was told to listen on cannot be bound."""


def new_server(telemetry: Telemetry, identity: Identity | None = None, callers: Collection[str] = ()) -> aio.Server:
    """Returns an unstarted aio server with the telemetry interceptors installed; with an identity (mutual
    TLS on), calls other than health checks are accepted only from peers whose certificate names one of
    the callers' roles."""
    interceptors: list[aio.ServerInterceptor] = []
    if identity is not None:
        interceptors.append(CallerCheck(identity.role, callers))
    interceptors += telemetry.server_interceptors
    return aio.server(interceptors=interceptors or None, options=_OPTIONS)


def bind(server: aio.Server, host: str, port: int, identity: Identity | None = None) -> int:
    """Binds server to host:port and returns the bound port (useful with port 0): with an identity, over
    TLS demanding a client certificate signed by the identity's CA; without one, in plaintext."""
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        if identity is None:
            bound = server.add_insecure_port(address)
        else:
            bound = server.add_secure_port(address, identity.server_credentials())
    except RuntimeError as exc:
        raise PortInUseError(f"cannot listen on {address}: {exc}") from exc
    if bound == 0:
        raise PortInUseError(f"cannot listen on {address}: address in use")
    return int(bound)


def add_health_and_reflection(
    server: aio.Server, service_names: Sequence[str], *, reflection_on: bool | None = None
) -> health.aio.HealthServicer:
    """Adds grpc.health.v1 (every service SERVING) and, when reflection_on, server reflection; returns the
    health servicer. reflection_on None follows SWITCHYARD_REFLECTION (ReflectionSettings.reflection_on): off
    unless set to 1 or serving the embedded default, so a deployment does not list its API to any caller."""
    servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    if reflection_on is None:
        reflection_on = ReflectionSettings().reflection_on
    if reflection_on:
        names = [*service_names, health.SERVICE_NAME, reflection.SERVICE_NAME]
        reflection.enable_server_reflection(names, server)
    return servicer


def health_only_server(servicer: health.aio.HealthServicer, host: str, port: int) -> tuple[aio.Server, int]:
    """Returns an unstarted plaintext server offering grpc.health.v1 and nothing else, bound to host:port,
    and its bound port. It answers from servicer, the service's own, so both ports report one status
    (NOT_SERVING from the start of a drain)."""
    server = aio.server(options=_OPTIONS)
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    return server, bind(server, host, port)


async def mark_serving(servicer: health.aio.HealthServicer, service_names: Sequence[str]) -> None:
    for name in ["", *service_names]:
        await servicer.set(name, health_pb2.HealthCheckResponse.SERVING)


def channel(
    target: str,
    telemetry: Telemetry,
    identity: Identity | None = None,
    peer: str = "",
    *,
    retry_unavailable: bool = False,
) -> aio.Channel:
    """Returns a channel to a peer, with the telemetry interceptors; one per peer, reused. With an identity
    the channel presents its certificate and, when peer names the role expected at target, accepts only a
    server whose certificate names that role. retry_unavailable: calls that fail UNAVAILABLE before any
    reply are sent again (to another replica when there are several)."""
    interceptors = telemetry.client_interceptors or None
    options = _options(retry_unavailable)
    if identity is None:
        return aio.insecure_channel(target, options=options, interceptors=interceptors)
    return secure_channel(target, identity, peer, interceptors=interceptors, base=options)


def secure_channel(
    target: str,
    identity: Identity,
    peer: str = "",
    options: Sequence[tuple[str, Any]] = (),
    interceptors: Sequence[aio.ClientInterceptor] | None = None,
    *,
    base: Sequence[tuple[str, Any]] = _CHANNEL_OPTIONS,
) -> aio.Channel:
    """Returns a mutual-TLS channel presenting identity's certificate (see `channel`)."""
    named = [("grpc.ssl_target_name_override", dns_name(peer))] if peer else []
    return aio.secure_channel(
        target,
        identity.channel_credentials(),
        options=[*base, *named, *options],
        interceptors=interceptors,
    )


def plain_or_secure(target: str, identity: Identity | None, peer: str = "") -> aio.Channel:
    """Returns a short-lived channel for a one-off call (health checks): TLS with an identity, else plaintext."""
    return aio.insecure_channel(target) if identity is None else secure_channel(target, identity, peer)


async def serve(
    server: aio.Server,
    servicer: health.aio.HealthServicer,
    service_names: Sequence[str],
    settings: ServiceSettings,
    cleanup: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Starts server and serves until SIGTERM or SIGINT, then drains in-flight calls within the settings'
    grace_period.

    On the signal the health status turns NOT_SERVING and new calls are refused, calls in flight get
    up to grace_period seconds to finish, then cleanup runs. With a health_port, grpc.health.v1 is also
    served alone in plaintext on the settings' host and that port (see health_only_server) until the
    server has stopped.
    """
    await server.start()
    await mark_serving(servicer, service_names)
    probes: aio.Server | None = None
    if settings.health_port:
        probes, bound = health_only_server(servicer, settings.host, settings.health_port)
        await probes.start()
        log.info("grpc.health.v1 alone, in plaintext, on %s:%d", settings.host, bound)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info("serving %s", ", ".join(service_names))
    await stop.wait()
    log.info("stopping: draining in-flight calls for up to %.1fs", settings.grace_period)
    await servicer.enter_graceful_shutdown()
    await server.stop(settings.grace_period)
    if probes is not None:
        await probes.stop(None)
    if cleanup is not None:
        await cleanup()
    log.info("stopped")


async def check_health(
    target: str, timeout: float = 1.0, identity: Identity | None = None, peer: str = "", service: str = ""
) -> bool:
    """Returns whether the gRPC server at target reports service (the whole server by default) SERVING;
    over mutual TLS with identity's certificate when given (peer: the role expected there)."""
    async with plain_or_secure(target, identity, peer) as chan:
        stub = health_pb2_grpc.HealthStub(chan)
        with contextlib.suppress(grpc.RpcError, asyncio.TimeoutError):
            reply = await stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=timeout)
            return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)
    return False


def run(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Runs a service's async main on the fastest event loop available."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main())
        return
    uvloop.run(main())
