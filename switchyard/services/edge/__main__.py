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
from switchyard.services.edge.app import Edge
from switchyard.services.edge.config import EdgeSettings

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
    config = load_config(settings.config)
    telemetry = init_telemetry("edge", settings.otlp_endpoint)
    sock = listen(settings.host, settings.port)
    router = grpcio.channel(settings.router_target, telemetry)
    targets = {
        "router": settings.router_target,
        "classifier": settings.classifier_target,
        "cache": settings.cache_target,
        "providers": settings.providers_target,
    }
    app = Edge(router, telemetry, config.switchyard.max_body_bytes, config.switchyard.request_timeout, targets)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            http="httptools",
            lifespan="off",
            access_log=False,
            log_config=None,
            timeout_graceful_shutdown=int(settings.grace_period) or None,
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
