"""The evaluator's Prometheus metrics."""

from __future__ import annotations

from prometheus_client import Counter

from switchyard.runtime.metrics import REGISTRY

QUALITY_ALERTS = Counter(
    "switchyard_quality_alerts",
    "Change points the CUSUM detector found in a deployment's judge scores (a drop in quality).",
    ["deployment"],
    registry=REGISTRY,
)
SAMPLES = Counter(
    "switchyard_evaluator_samples",
    "Samples the evaluator received, by outcome (judged, unjudged, pair, dropped, judge_failed).",
    ["outcome"],
    registry=REGISTRY,
)
FEEDBACK = Counter("switchyard_evaluator_feedback", "User feedback received.", registry=REGISTRY)
