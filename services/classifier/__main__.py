"""Runs the classifier service: `python -m services.classifier` (configured by environment)."""

from __future__ import annotations

import logging

from services.classifier.config import ClassifierSettings
from services.classifier.server import SERVICE_NAMES, build_server, new_analyzer
from services.common import grpcio
from services.common.logs import setup_logging
from services.common.metrics import serve_metrics
from services.common.telemetry import init_telemetry

log = logging.getLogger("services.classifier")


async def main() -> None:
    """Serves the classifier until SIGTERM or SIGINT, then drains in-flight calls."""
    settings = ClassifierSettings()
    setup_logging(settings.log_level)
    telemetry = init_telemetry("classifier", settings.otlp_endpoint)
    server, port, health_servicer = build_server(settings, new_analyzer(settings), telemetry)
    log.info("classifier listening on %s:%d", settings.host, port)
    metrics = serve_metrics(settings.host, settings.metrics_port)

    async def cleanup() -> None:
        metrics.close()
        telemetry.shutdown()

    await grpcio.serve(server, health_servicer, SERVICE_NAMES, settings.grace_period, cleanup)


if __name__ == "__main__":
    grpcio.run(main)
