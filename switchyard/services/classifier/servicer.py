"""The ClassifierService handlers: validate, convert, delegate to the analyzer, map errors."""

from __future__ import annotations

import asyncio
import logging
from typing import NoReturn

from grpc import aio

from switchyard.classifier.v1 import classifier_pb2, classifier_pb2_grpc
from switchyard.common.v1 import errors_pb2
from switchyard.ml.embedder import embedding_text
from switchyard.runtime.errors import SwitchyardError
from switchyard.services.classifier import convert
from switchyard.services.classifier.analyzer import Analyzer

log = logging.getLogger(__name__)


class ClassifierServicer(classifier_pb2_grpc.ClassifierServiceServicer):
    """Serves Analyze over an Analyzer."""

    def __init__(self, analyzer: Analyzer, offload_chars: int) -> None:
        self._analyzer = analyzer
        self._offload_chars = offload_chars

    async def Analyze(
        self, request: classifier_pb2.AnalyzeRequest, context: aio.ServicerContext
    ) -> classifier_pb2.AnalyzeResponse:
        """Returns the analysis of the request, or INVALID_ARGUMENT when there is nothing to analyse."""
        problem = _invalid(request)
        if problem is not None:
            await _abort(context, problem)
        prompt = convert.prompt_from_request(request.request)
        if prompt.chars < self._offload_chars:
            analysis = self._analyzer.analyze(prompt)
        else:
            log.debug("analysing a %d-character prompt in a worker thread", prompt.chars)
            analysis = await asyncio.to_thread(self._analyzer.analyze, prompt)
        embedding: list[float] = []
        text = embedding_text(request.request) if request.want_embedding and self._analyzer.embeds else ""
        if text:
            embedding = self._analyzer.embed(text).tolist()
        return convert.analysis_to_response(analysis, embedding)


async def _abort(context: aio.ServicerContext, error: SwitchyardError) -> NoReturn:
    """Ends the call with error's rich status (code, message, ErrorInfo)."""
    await context.abort_with_status(error.to_rpc_status())
    raise AssertionError("abort_with_status always raises")


def _invalid(request: classifier_pb2.AnalyzeRequest) -> SwitchyardError | None:
    """Returns the error of a request that cannot be analysed, or None."""
    if not request.HasField("request"):
        return SwitchyardError(errors_pb2.ERROR_REASON_INVALID_REQUEST, "request is required", param="request")
    if not request.request.messages:
        return SwitchyardError(
            errors_pb2.ERROR_REASON_INVALID_REQUEST, "request.messages must not be empty", param="messages"
        )
    return None
