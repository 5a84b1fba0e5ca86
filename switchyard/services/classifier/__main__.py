"""Runs the classifier service: `python -m switchyard.services.classifier` (configured by environment)."""

from __future__ import annotations

import logging

from switchyard.runtime import grpcio
from switchyard.runtime.logs import setup_logging
from switchyard.runtime.metrics import serve_metrics
from switchyard.runtime.telemetry import init_telemetry
from switchyard.runtime.tls import identity_or_exit
from switchyard.services.classifier.config import ClassifierSettings
from switchyard.services.classifier.server import SERVICE_NAMES, build_server, new_analyzer

log = logging.getLogger("switchyard.services.classifier")


async def main() -> None:
    """Serves the classifier until SIGTERM or SIGINT, then drains in-flight calls."""
    settings = ClassifierSettings()
    setup_logging(settings.log_level)
    identity = identity_or_exit("classifier", settings.host)
    telemetry = init_telemetry("classifier", settings.otlp_endpoint)
    server, port, health_servicer = build_server(settings, new_analyzer(settings), telemetry, identity)
    log.info("classifier listening on %s:%d", settings.host, port)
    metrics = serve_metrics(settings.host, settings.metrics_port)

    async def cleanup() -> None:
        metrics.close()
        telemetry.shutdown()

    await grpcio.serve(server, health_servicer, SERVICE_NAMES, settings, cleanup)


if __name__ == "__main__":
    grpcio.run(main)
