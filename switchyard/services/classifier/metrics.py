"""The classifier's Prometheus metrics: analyses by outcome and category, their latency, injection flags.

`MeteredClassifierServicer` is the servicer the classifier serves: the plain one, with each Analyze
call counted and timed around it.
"""

from __future__ import annotations

import time

from grpc import aio
from prometheus_client import Counter, Histogram

from switchyard.classifier.v1 import classifier_pb2
from switchyard.runtime.metrics import REGISTRY, Bounded, label
from switchyard.services.classifier.servicer import ClassifierServicer

ANALYSES = Counter(
    "switchyard_classifier_analyses_total",
    "Analyze calls, by outcome (ok or error) and task category of the request.",
    ["status", "category"],
    registry=REGISTRY,
)
DURATION = Histogram(
    "switchyard_classifier_analysis_duration_seconds",
    "Time to analyse a request (token count, models and, when asked, the embedding).",
    ["embedding"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
    registry=REGISTRY,
)
INJECTIONS = Counter(
    "switchyard_classifier_injections_detected_total",
    "Requests the injection guard flagged, by its strongest signal.",
    ["kind"],
    registry=REGISTRY,
)
# Categories come from the trained model (a fixed set); the bound only guards against a model swap.
_category, _kind = Bounded(50), Bounded(50)


class MeteredClassifierServicer(ClassifierServicer):
    """Serves Analyze and counts and times every call."""

    async def Analyze(
        self, request: classifier_pb2.AnalyzeRequest, context: aio.ServicerContext
    ) -> classifier_pb2.AnalyzeResponse:
        started = time.perf_counter()
        embedding = "true" if request.want_embedding else "false"
        category = ""
        try:
            response = await super().Analyze(request, context)
            category = _category(response.category.name)
        finally:
            DURATION.labels(embedding).observe(time.perf_counter() - started)
            ANALYSES.labels("ok" if category else "error", category or label("")).inc()
        if response.injection.detected:
            INJECTIONS.labels(_kind(response.injection.kind)).inc()
        return response
