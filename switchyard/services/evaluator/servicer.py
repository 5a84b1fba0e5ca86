"""switchyard.evaluator.v1.EvaluatorService: thin handlers over the evaluator's core."""

from __future__ import annotations

import grpc
from grpc import aio

from switchyard.evaluator.v1 import evaluator_pb2 as pb
from switchyard.evaluator.v1 import evaluator_pb2_grpc
from switchyard.services.evaluator.convert import feedback_of, quality_to, report_to, sample_of
from switchyard.services.evaluator.core import Evaluator


class EvaluatorServicer(evaluator_pb2_grpc.EvaluatorServiceServicer):
    def __init__(self, evaluator: Evaluator) -> None:
        self._evaluator = evaluator

    async def SubmitSamples(
        self, request: pb.SubmitSamplesRequest, context: aio.ServicerContext
    ) -> pb.SubmitSamplesResponse:
        accepted = sum(1 for sample in request.samples if self._evaluator.offer(sample_of(sample)))
        return pb.SubmitSamplesResponse(accepted=accepted, dropped=len(request.samples) - accepted)

    async def SubmitFeedback(
        self, request: pb.SubmitFeedbackRequest, context: aio.ServicerContext
    ) -> pb.SubmitFeedbackResponse:
        if not request.feedback.request_id or not 0.0 <= request.feedback.score <= 1.0:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "feedback needs a request_id and a score in [0, 1]")
        self._evaluator.feedback(feedback_of(request.feedback))
        return pb.SubmitFeedbackResponse()

    async def GetQuality(self, request: pb.GetQualityRequest, context: aio.ServicerContext) -> pb.GetQualityResponse:
        return quality_to(self._evaluator.quality.summary(request.deployment_id), self._evaluator.experiments.names())

    async def GetExperimentReport(
        self, request: pb.GetExperimentReportRequest, context: aio.ServicerContext
    ) -> pb.GetExperimentReportResponse:
        report = self._evaluator.report(request.name)
        if report is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"no samples of experiment {request.name!r} yet")
            raise AssertionError("unreachable")
        return report_to(report)
