"""Judge grades sent to the router's analytics store (AdminService.RecordJudgements), off the grading path.

Each grade goes with its request id, deployment and classifier category, scaled to [0, 1];
`switchyard train-router --from-store` refits the router's quality from them. Grades wait in a
bounded queue (a full one drops the newest, counted) and go in batches; while the router does
not take them, the batch is retried with a growing pause, so nothing queued is lost to a blip.
"""

from __future__ import annotations

import asyncio
import logging

import grpc
from grpc import aio

from switchyard.ml.quality_fit import judge_score
from switchyard.router.v1 import admin_pb2, admin_pb2_grpc
from switchyard.services.evaluator import metrics
from switchyard.services.evaluator.core import Sample

log = logging.getLogger(__name__)
BATCH = 100
RETRY_MIN_S, RETRY_MAX_S = 0.5, 30.0


class JudgementKeeper:
    """Hands the judge's grades to the router to keep in its analytics store."""

    def __init__(self, router: aio.Channel, authorization: str, queue: int = 10_000, timeout_s: float = 5.0) -> None:
        self._stub = admin_pb2_grpc.AdminServiceStub(router)
        self._metadata = (("authorization", authorization),) if authorization else ()
        self._queue: asyncio.Queue[admin_pb2.Judgement] = asyncio.Queue(maxsize=queue)
        self._timeout_s = timeout_s
        self.kept = 0

    def judged(self, sample: Sample, grade: float) -> None:
        """Queues a sample's grade (1-10) without waiting."""
        judgement = admin_pb2.Judgement(
            request_id=sample.request_id,
            kind="judge",
            time_ms=sample.time_ms,
            deployment_id=sample.deployment_id,
            category=sample.category,
            score=judge_score(grade),
        )
        try:
            self._queue.put_nowait(judgement)
        except asyncio.QueueFull:
            metrics.SAMPLES.labels("not_kept").inc()

    async def run(self) -> None:
        """Sends queued grades in batches until cancelled."""
        while True:
            batch = [await self._queue.get()]
            while len(batch) < BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            await self._send(batch)

    async def _send(self, batch: list[admin_pb2.Judgement]) -> None:
        pause = RETRY_MIN_S
        request = admin_pb2.RecordJudgementsRequest(judgements=batch)
        while True:
            try:
                await self._stub.RecordJudgements(request, timeout=self._timeout_s, metadata=self._metadata)
                self.kept += len(batch)
                return
            except grpc.RpcError as exc:
                if exc.code() == grpc.StatusCode.INVALID_ARGUMENT:
                    log.error("the router refused %d judge grades: %s", len(batch), exc.details())
                    return
                log.warning("judge grades not kept yet (%s), retrying in %.1fs", exc.code().name, pause)
            await asyncio.sleep(pause)
            pause = min(pause * 2, RETRY_MAX_S)
