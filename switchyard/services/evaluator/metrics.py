"""The evaluator's Prometheus metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

from switchyard.runtime.metrics import REGISTRY

QUALITY_ALERTS = Counter(
    "switchyard_quality_alerts",
    "Change points the CUSUM detector found in a deployment's judge scores (a drop in quality).",
    ["deployment"],
    registry=REGISTRY,
)
SAMPLES = Counter(
    "switchyard_evaluator_samples",
    "Samples the evaluator received, by outcome (judged, unjudged, pair, dropped, judge_failed, not_kept).",
    ["outcome"],
    registry=REGISTRY,
)
FEEDBACK = Counter("switchyard_evaluator_feedback", "User feedback received.", registry=REGISTRY)
LANGFUSE_SCORES = Counter(
    "switchyard_langfuse_scores",
    "Judge grades and feedback sent to Langfuse as scores, by outcome (exported, failed, dropped).",
    ["outcome"],
    registry=REGISTRY,
)
JUDGE_SCORE = Gauge(
    "switchyard_quality_judge_score",
    "Mean judge score (1-10) of the deployment's current quality segment (its newest model version).",
    ["deployment"],
    registry=REGISTRY,
)
