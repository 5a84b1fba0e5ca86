"""Runs the REST edge: `python -m switchyard.services.edge` (configured by SWITCHYARD_EDGE_* variables)."""

from __future__ import annotations

import logging
import socket
import sys

import uvicorn

from switchyard.config import load_config
from switchyard.runtime import grpcio
from switchyard.runtime.logs import setup_logging
from switchyard.runtime.telemetry import init_telemetry
from switchyard.runtime.tls import identity_or_exit
from switchyard.services.edge.app import Edge
from switchyard.services.edge.config import EdgeSettings
from switchyard.services.edge.guards import Guards
from switchyard.services.edge.protocol import HttpLimits, limited_protocol

log = logging.getLogger("switchyard.edge")


def listen(host: str, port: int) -> socket.socket:
    """Returns a listening socket, or exits with a one-line reason when the address is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sys.exit(f"edge: cannot listen on {host}:{port}: {exc.strerror}")
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


async def main() -> None:
    settings = EdgeSettings()
    setup_logging(settings.log_level)
    identity = identity_or_exit("edge")
    config = load_config(settings.config)
    telemetry = init_telemetry("edge", settings.otlp_endpoint)
    sock = listen(settings.host, settings.port)
    # The router replicas are interchangeable: a call a dying one never answered goes to another.
    router = grpcio.channel(settings.router_target, telemetry, identity, "router", retry_unavailable=True)
    targets = {
        "router": settings.router_target,
        "classifier": settings.classifier_target,
        "cache": settings.cache_target,
        "providers": settings.providers_target,
    }
    app = Edge(
        router,
        telemetry,
        config.switchyard.max_body_bytes,
        config.switchyard.request_timeout,
        targets,
        body_timeout=settings.body_timeout,
        max_requests=settings.max_requests,
        guards=Guards.from_list(settings.allowed_origins),
        identity=identity,
    )
    limits = HttpLimits(settings.header_timeout, settings.max_header_bytes, settings.max_connections)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            # httptools, with the header timeout, header size limit and connection cap uvicorn lacks.
            http=limited_protocol(limits),
            ws="none",
            lifespan="off",
            access_log=False,
            log_config=None,
            timeout_graceful_shutdown=int(settings.grace_period) or None,
            timeout_keep_alive=settings.keepalive_timeout,
            # uvicorn's own cap counts idle connections too, so slow clients would turn it into a 503 for
            # everyone: the connection cap (protocol) and the in-flight cap (app) replace it.
            limit_concurrency=None,
        )
    )
    log.info("edge listening on http://%s:%d", settings.host, sock.getsockname()[1])
    try:
        await server.serve(sockets=[sock])
    finally:
        await router.close()
        telemetry.shutdown()


if __name__ == "__main__":
    grpcio.run(main)
