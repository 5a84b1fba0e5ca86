"""Samples of completed requests for the evaluator, sent off the hot path and never waited for.

    sampler = Sampler(lambda: config.switchyard.evaluation, sink)
    sampler.completed(record, request, completion)        # after the ledger record: maybe one Sample
    sampler.paired(record, request, completion, shadow)   # a shadow pair: always, when a judge is named

A sample goes to the sink: with Redis configured, XADD to the stream `<prefix>evaluation` (the
evaluator reads it with a consumer group); without, a bounded in-process queue that one background
task forwards over gRPC (EvaluatorService.SubmitSamples) in batches. Either way `offer` only puts
the sample in a bounded queue: a full queue, an unreachable evaluator or Redis drops it, counted in
`switchyard_evaluation_samples_total{outcome="dropped"}`. Requests to the judge group are never
sampled, so grading never grades itself.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from typing import Protocol

import grpc
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from switchyard.common.v1 import chat_pb2
from switchyard.config.evaluation import EvaluationSection
from switchyard.evaluator.v1 import evaluator_pb2, evaluator_pb2_grpc
from switchyard.router.v1 import admin_pb2
from switchyard.services.router import metrics

log = logging.getLogger(__name__)
STREAM = "evaluation"
_BATCH = 64
_SEND_TIMEOUT_S = 5.0
_MAX_PROMPT = 16_000


class Sink(Protocol):
    def offer(self, sample: evaluator_pb2.Sample) -> None: ...
    async def run(self) -> None: ...


def render_prompt(request: chat_pb2.ChatRequest) -> str:
    """Returns the conversation as the judge reads it: one "Role: text" paragraph per message."""
    parts = []
    for message in request.messages:
        text = message.text or " ".join(p.text.text for p in message.parts.parts if p.HasField("text"))
        if text:
            role = chat_pb2.Role.Name(message.role).removeprefix("ROLE_").capitalize()
            parts.append(f"{role}: {text}" if len(request.messages) > 1 else text)
    return "\n\n".join(parts)[:_MAX_PROMPT]


def answer_of(completion: chat_pb2.ChatCompletion | None) -> str:
    return completion.choices[0].message.text if completion is not None and completion.choices else ""


class Sampler:
    """Decides which completed requests the evaluator sees and hands them to the sink."""

    def __init__(self, settings: Callable[[], EvaluationSection], sink: Sink, rng: random.Random | None = None) -> None:
        self._settings, self._sink = settings, sink
        self._rng = rng or random.Random()

    def completed(
        self,
        record: admin_pb2.LedgerRecord,
        group: str,
        request: chat_pb2.ChatRequest,
        completion: chat_pb2.ChatCompletion | None,
    ) -> None:
        """Offers a finished request (answered or failed) at its sample rate."""
        settings = self._settings()
        if settings.judge and record.alias == settings.judge:
            return
        rate = settings.rate(record.experiment, record.alias, group)
        if rate <= 0 or self._rng.random() >= rate:
            return
        self._sink.offer(self._sample(record, request, completion))

    def paired(
        self,
        record: admin_pb2.LedgerRecord,
        request: chat_pb2.ChatRequest,
        completion: chat_pb2.ChatCompletion | None,
        shadow: evaluator_pb2.ShadowAnswer,
    ) -> None:
        """Offers an answer and its shadow copy's for a pairwise comparison (always, when a judge is named)."""
        if not self._settings().judge or not shadow.answer or completion is None:
            return
        sample = self._sample(record, request, completion)
        sample.shadow.CopyFrom(shadow)
        self._sink.offer(sample)

    @staticmethod
    def _sample(
        record: admin_pb2.LedgerRecord, request: chat_pb2.ChatRequest, completion: chat_pb2.ChatCompletion | None
    ) -> evaluator_pb2.Sample:
        return evaluator_pb2.Sample(
            request_id=record.request_id,
            time_ms=record.time_ms,
            alias=record.alias,
            deployment_id=record.deployment_id,
            model=(completion.model if completion is not None else "") or record.model,
            system_fingerprint=completion.system_fingerprint if completion is not None else "",
            experiment=record.experiment,
            arm=record.arm,
            prompt=render_prompt(request),
            answer=answer_of(completion),
            status=record.status or "ok",
            cost_usd=record.cost_usd,
            latency_ms=record.latency_ms,
            trace_id=record.trace_id,
            category=record.category,
        )


class _Queued:
    """A bounded queue whose overflow is dropped and counted."""

    def __init__(self, size: int) -> None:
        self._queue: asyncio.Queue[evaluator_pb2.Sample] = asyncio.Queue(maxsize=size)

    def offer(self, sample: evaluator_pb2.Sample) -> None:
        try:
            self._queue.put_nowait(sample)
        except asyncio.QueueFull:
            metrics.EVALUATION_SAMPLES.labels("dropped").inc()

    async def _batch(self) -> list[evaluator_pb2.Sample]:
        batch = [await self._queue.get()]
        while len(batch) < _BATCH and not self._queue.empty():
            batch.append(self._queue.get_nowait())
        return batch


class GrpcSink(_Queued):
    """Forwards samples to the evaluator over gRPC in batches (the embedded default, no Redis)."""

    def __init__(self, channel: grpc.aio.Channel, size: int) -> None:
        super().__init__(size)
        self._stub = evaluator_pb2_grpc.EvaluatorServiceStub(channel)
        self._down = False

    async def run(self) -> None:
        while True:
            batch = await self._batch()
            try:
                reply = await self._stub.SubmitSamples(
                    evaluator_pb2.SubmitSamplesRequest(samples=batch), timeout=_SEND_TIMEOUT_S
                )
            except grpc.RpcError as exc:
                metrics.EVALUATION_SAMPLES.labels("dropped").inc(len(batch))
                if not self._down:
                    log.warning("the evaluator cannot be reached (%s); samples are dropped meanwhile", exc.code().name)
                self._down = True
                continue
            if self._down:
                log.warning("the evaluator can be reached again")
            self._down = False
            metrics.EVALUATION_SAMPLES.labels("sent").inc(reply.accepted)
            metrics.EVALUATION_SAMPLES.labels("dropped").inc(reply.dropped)


class RedisSink(_Queued):
    """Appends samples to the Redis stream the evaluator consumes (capped at stream_max entries)."""

    def __init__(self, client: aioredis.Redis, key: str, size: int, stream_max: int) -> None:
        super().__init__(size)
        self._client, self._key, self._max = client, key, stream_max
        self._down = False

    async def run(self) -> None:
        while True:
            batch = await self._batch()
            try:
                async with self._client.pipeline(transaction=False) as pipe:
                    for sample in batch:
                        pipe.xadd(self._key, {"sample": sample.SerializeToString()}, maxlen=self._max, approximate=True)
                    await pipe.execute()
            except (RedisError, OSError) as exc:
                metrics.EVALUATION_SAMPLES.labels("dropped").inc(len(batch))
                if not self._down:
                    log.warning("the evaluation stream cannot be written (%s); samples are dropped meanwhile", exc)
                self._down = True
                continue
            self._down = False
            metrics.EVALUATION_SAMPLES.labels("sent").inc(len(batch))


class NoSink:
    """No evaluator configured: nothing is sampled."""

    def offer(self, sample: evaluator_pb2.Sample) -> None:
        return None

    async def run(self) -> None:
        return None
