"""User feedback and experiment reports: the router's side of the evaluator.

    desk = FeedbackDesk(governance, evaluator)
    await desk.submit(request, authorization)   # 401 bad key, 404 unknown request id, 403 another key's request

Feedback is joined here, where the ledger is: the caller's key must be the one that made the request
(the master key may rate any), and the evaluator receives the score with the deployment, model,
experiment and arm the ledger recorded.
"""

from __future__ import annotations

import logging
import time

import grpc
from grpc import aio

from switchyard.common.v1 import errors_pb2 as E
from switchyard.evaluator.v1 import evaluator_pb2, evaluator_pb2_grpc
from switchyard.router.v1 import admin_pb2, router_pb2
from switchyard.runtime.errors import SwitchyardError, from_rpc_error
from switchyard.services.router import judgements
from switchyard.services.router.governance.tally import Governance

log = logging.getLogger(__name__)

_TIMEOUT_S = 10.0
_MAX_COMMENT = 4000


class EvaluatorPeer:
    """The evaluator service as the router calls it (errors become SwitchyardErrors)."""

    def __init__(self, channel: aio.Channel | None) -> None:
        self._stub = evaluator_pb2_grpc.EvaluatorServiceStub(channel) if channel is not None else None

    def _require(self) -> evaluator_pb2_grpc.EvaluatorServiceStub:
        if self._stub is None:
            raise SwitchyardError(E.ERROR_REASON_SERVICE_UNAVAILABLE, "No evaluator is configured for this gateway.")
        return self._stub

    async def feedback(self, feedback: evaluator_pb2.Feedback) -> None:
        try:
            await self._require().SubmitFeedback(
                evaluator_pb2.SubmitFeedbackRequest(feedback=feedback), timeout=_TIMEOUT_S
            )
        except grpc.RpcError as exc:
            raise _unavailable(exc) from exc

    async def report(self, name: str) -> evaluator_pb2.GetExperimentReportResponse:
        try:
            return await self._require().GetExperimentReport(
                evaluator_pb2.GetExperimentReportRequest(name=name), timeout=_TIMEOUT_S
            )
        except grpc.RpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                raise not_found(f"No report for experiment {name!r}: it has no samples yet.") from exc
            raise _unavailable(exc) from exc

    async def quality(self, deployment_id: str) -> evaluator_pb2.GetQualityResponse:
        try:
            return await self._require().GetQuality(
                evaluator_pb2.GetQualityRequest(deployment_id=deployment_id), timeout=_TIMEOUT_S
            )
        except grpc.RpcError as exc:
            raise _unavailable(exc) from exc


def not_found(message: str) -> SwitchyardError:
    return SwitchyardError(E.ERROR_REASON_INVALID_REQUEST, message, http_status=404)


def _unavailable(exc: grpc.RpcError) -> SwitchyardError:
    err = from_rpc_error(exc)
    if err.reason in (E.ERROR_REASON_INTERNAL, E.ERROR_REASON_UNSPECIFIED):
        return SwitchyardError(E.ERROR_REASON_SERVICE_UNAVAILABLE, f"The evaluator could not be reached: {err.message}")
    return err


def score_of(request: router_pb2.SubmitFeedbackRequest) -> float:
    """Returns the feedback's value in [0, 1] (thumbs up 1, down 0), or raises a 400."""
    rating = request.WhichOneof("rating")
    if rating is None:
        raise SwitchyardError(E.ERROR_REASON_INVALID_REQUEST, "Give a `score` in [0, 1] or `thumbs`.", param="score")
    if rating == "thumbs_up":
        return 1.0 if request.thumbs_up else 0.0
    if not 0.0 <= request.score <= 1.0:
        raise SwitchyardError(E.ERROR_REASON_INVALID_REQUEST, "`score` must be between 0 and 1.", param="score")
    return request.score


class FeedbackDesk:
    """Checks who rates what, joins the ledger record, and hands the feedback to the evaluator."""

    def __init__(self, governance: Governance, evaluator: EvaluatorPeer) -> None:
        self._gov, self._evaluator = governance, evaluator

    async def submit(
        self, request: router_pb2.SubmitFeedbackRequest, authorization: str
    ) -> router_pb2.SubmitFeedbackResponse:
        identity = await self._gov.governor.authenticate(authorization)
        if not request.request_id:
            raise SwitchyardError(E.ERROR_REASON_INVALID_REQUEST, "`request_id` is required.", param="request_id")
        if len(request.comment) > _MAX_COMMENT:
            raise SwitchyardError(E.ERROR_REASON_INVALID_REQUEST, f"`comment` is over {_MAX_COMMENT} characters.")
        score = score_of(request)
        record = await self._gov.ledger.find(request.request_id)
        if record is None:
            raise not_found(f"No request with id {request.request_id!r} is known.")
        if identity is not None and not identity.master and record.key_prefix != identity.key_prefix:
            raise SwitchyardError(E.ERROR_REASON_PERMISSION_DENIED, "A key may only rate its own requests.")
        feedback = evaluator_pb2.Feedback(
            request_id=record.request_id,
            score=score,
            comment=request.comment,
            deployment_id=record.deployment_id,
            model=record.model,
            experiment=record.experiment,
            arm=record.arm,
            key_prefix=record.key_prefix,
            time_ms=int(time.time() * 1000),
            trace_id=record.trace_id,
            category=record.category,
        )
        await self._evaluator.feedback(feedback)
        await self._keep(feedback)
        return router_pb2.SubmitFeedbackResponse(
            request_id=record.request_id, score=score, deployment_id=record.deployment_id
        )

    async def _keep(self, feedback: evaluator_pb2.Feedback) -> None:
        """Keeps the feedback in the analytics store for train-router (the evaluator has it already)."""
        if not feedback.deployment_id:
            return
        judgement = admin_pb2.Judgement(
            request_id=feedback.request_id,
            kind="feedback",
            time_ms=feedback.time_ms,
            deployment_id=feedback.deployment_id,
            category=feedback.category,
            score=feedback.score,
        )
        try:
            await judgements.keep(self._gov.ledger, [judgement])
        except SwitchyardError as exc:
            log.warning("feedback on request %s not kept for training: %s", feedback.request_id, exc)
