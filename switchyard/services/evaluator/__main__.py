"""Runs the evaluator service: `python -m switchyard.services.evaluator` (SWITCHYARD_EVALUATOR_* and the config).

Samples arrive on the Redis stream when the config names a Redis URL, else from the router over
gRPC (SubmitSamples). The judge is the config's `switchyard.evaluation.judge` group, asked through
the router's front door with the evaluator's own certificate; its grades go back to the router to be
kept in the analytics store (keeping.py), where `switchyard train-router --from-store` learns from them.
"""

from __future__ import annotations

import asyncio
import logging
import os

from switchyard.config import load_config
from switchyard.config.analytics import state_dir
from switchyard.redisutil import new_client
from switchyard.runtime import grpcio
from switchyard.runtime.logs import setup_logging
from switchyard.runtime.metrics import serve_metrics
from switchyard.runtime.tasks import cancel_and_wait
from switchyard.runtime.telemetry import init_telemetry
from switchyard.runtime.tls import identity_or_exit
from switchyard.services.evaluator.config import EvaluatorSettings, judge_authorization
from switchyard.services.evaluator.core import Evaluator
from switchyard.services.evaluator.judge import RouterJudge
from switchyard.services.evaluator.keeping import JudgementKeeper
from switchyard.services.evaluator.langfuse import LangfuseExporter
from switchyard.services.evaluator.persist import keep_state, load_state, save_state, state_place
from switchyard.services.evaluator.server import SERVICE_NAMES, build_server
from switchyard.services.evaluator.stream import STREAM, STREAM_CONNECT_S, STREAM_READ_S, consume

log = logging.getLogger("switchyard.evaluator")


async def main() -> None:
    settings = EvaluatorSettings()
    setup_logging(settings.log_level)
    identity = identity_or_exit("evaluator", settings.host)
    config = load_config(settings.config)
    evaluation = config.switchyard.evaluation
    telemetry = init_telemetry("evaluator", settings.otlp_endpoint)
    router = grpcio.channel(settings.router_target, telemetry, identity, "router")
    judge, keeper = None, None
    if evaluation.judge:
        judge = RouterJudge(router, evaluation.judge, judge_authorization(config), settings.judge_timeout)
        keeper = JudgementKeeper(router, judge_authorization(config))
    experiments = config.switchyard.experiments

    def arm_order(name: str) -> list[str]:
        experiment = experiments.get(name)
        return [arm.name for arm in experiment.arms] if experiment is not None else []

    langfuse = LangfuseExporter.of(evaluation.langfuse, os.environ)
    evaluator = Evaluator(judge, evaluation.queue, settings.workers, arm_order, scores=langfuse, judgements=keeper)
    client = None
    if config.state_url():
        # Reads block for a second (consume's block_ms): replies are awaited a little longer than that.
        client = new_client(config.state_url(), STREAM_CONNECT_S, read_timeout_s=STREAM_READ_S)
    place = state_place(client, settings.state_prefix, state_dir())
    await load_state(place, evaluator)
    server, port, health_servicer = build_server(settings, evaluator, telemetry, identity)
    background = [
        asyncio.create_task(evaluator.run()),
        asyncio.create_task(keep_state(place, evaluator, settings.save_s)),
    ]
    if langfuse is not None:
        background.append(asyncio.create_task(langfuse.run()))
    if keeper is not None:
        background.append(asyncio.create_task(keeper.run()))
    if client is not None:
        key = f"{settings.state_prefix}{STREAM}"
        background.append(asyncio.create_task(consume(client, key, settings.consumer_group, evaluator)))
    metrics = serve_metrics(settings.host, settings.metrics_port)
    log.info(
        "evaluator listening on %s:%d (judge: %s; samples from %s; Langfuse scores: %s)",
        settings.host,
        port,
        evaluation.judge or "none",
        "the Redis stream" if client is not None else "the router over gRPC",
        evaluation.langfuse.host or "off",
    )

    async def cleanup() -> None:
        metrics.close()
        await cancel_and_wait(background)
        await save_state(place, evaluator)
        if client is not None:
            await client.aclose()
        if langfuse is not None:
            await langfuse.close()
        await router.close()
        telemetry.shutdown()

    await grpcio.serve(server, health_servicer, SERVICE_NAMES, settings, cleanup)


if __name__ == "__main__":
    grpcio.run(main)
