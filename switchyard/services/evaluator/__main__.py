"""Runs the evaluator service: `python -m switchyard.services.evaluator` (SWITCHYARD_EVALUATOR_* and the config).

Samples arrive on the Redis stream when the config names a Redis URL, else from the router over
gRPC (SubmitSamples). The judge is the config's `switchyard.evaluation.judge` group, asked through
the router's front door with the evaluator's own certificate.
"""

from __future__ import annotations

import asyncio
import logging

import redis.asyncio as aioredis

from switchyard.config import load_config
from switchyard.runtime import grpcio
from switchyard.runtime.logs import setup_logging
from switchyard.runtime.metrics import serve_metrics
from switchyard.runtime.tasks import cancel_and_wait
from switchyard.runtime.telemetry import init_telemetry
from switchyard.runtime.tls import identity_or_exit
from switchyard.services.evaluator.config import EvaluatorSettings, judge_authorization
from switchyard.services.evaluator.core import Evaluator
from switchyard.services.evaluator.judge import RouterJudge
from switchyard.services.evaluator.server import SERVICE_NAMES, build_server
from switchyard.services.evaluator.stream import STREAM, consume

log = logging.getLogger("switchyard.evaluator")


async def main() -> None:
    settings = EvaluatorSettings()
    setup_logging(settings.log_level)
    identity = identity_or_exit("evaluator", settings.host)
    config = load_config(settings.config)
    evaluation = config.switchyard.evaluation
    telemetry = init_telemetry("evaluator", settings.otlp_endpoint)
    router = grpcio.channel(settings.router_target, telemetry, identity, "router")
    judge = None
    if evaluation.judge:
        judge = RouterJudge(router, evaluation.judge, judge_authorization(config), settings.judge_timeout)
    experiments = config.switchyard.experiments

    def arm_order(name: str) -> list[str]:
        experiment = experiments.get(name)
        return [arm.name for arm in experiment.arms] if experiment is not None else []

    evaluator = Evaluator(judge, evaluation.queue, settings.workers, arm_order)
    server, port, health_servicer = build_server(settings, evaluator, telemetry, identity)
    background = [asyncio.create_task(evaluator.run())]
    client = None
    if config.state_url():
        client = aioredis.Redis.from_url(config.state_url())
        key = f"{settings.state_prefix}{STREAM}"
        background.append(asyncio.create_task(consume(client, key, settings.consumer_group, evaluator)))
    metrics = serve_metrics(settings.host, settings.metrics_port)
    log.info(
        "evaluator listening on %s:%d (judge: %s; samples from %s)",
        settings.host,
        port,
        evaluation.judge or "none",
        "the Redis stream" if client is not None else "the router over gRPC",
    )

    async def cleanup() -> None:
        metrics.close()
        await cancel_and_wait(background)
        if client is not None:
            await client.aclose()
        await router.close()
        telemetry.shutdown()

    await grpcio.serve(server, health_servicer, SERVICE_NAMES, settings.grace_period, cleanup)


if __name__ == "__main__":
    grpcio.run(main)
