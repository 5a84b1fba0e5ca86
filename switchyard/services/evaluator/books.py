"""What the evaluator keeps: quality per deployment and model version, and numbers per experiment arm.

In memory, bounded: each series keeps its newest WINDOW values, so the estimates are rolling.
`state()` and `restore(state)` turn a book into plain JSON-ready data and back (persist.py saves it).
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any

from switchyard.services.evaluator.cusum import Cusum
from switchyard.services.evaluator.stats import ArmNumbers, Estimate, bootstrap_difference, bootstrap_mean, verdict
from switchyard.services.evaluator.timeline import Bucket, Timeline

log = logging.getLogger(__name__)
WINDOW = 10_000


def _series(values: list[float] | None = None) -> deque[float]:
    return deque(values or (), maxlen=WINDOW)


@dataclass
class Segment:
    """One deployment's scores while it reported one model name and system fingerprint."""

    model: str
    fingerprint: str
    started_ms: int
    judge: deque[float] = field(default_factory=_series)
    feedback: deque[float] = field(default_factory=_series)
    detector: Cusum = field(default_factory=Cusum)
    timeline: Timeline = field(default_factory=Timeline)


class QualityBook:
    """Rolling judge and feedback scores per deployment, a new segment whenever its model version changes."""

    def __init__(self) -> None:
        self._segments: dict[str, list[Segment]] = {}

    def _segment(self, deployment: str, model: str, fingerprint: str, now_ms: int) -> Segment:
        segments = self._segments.setdefault(deployment, [])
        if segments and (segments[-1].model, segments[-1].fingerprint) == (model, fingerprint):
            return segments[-1]
        if segments:
            log.info(
                "deployment %s now reports model %s (fingerprint %s): a new quality segment starts",
                deployment,
                model or "-",
                fingerprint or "-",
            )
        segments.append(Segment(model, fingerprint, now_ms))
        del segments[:-20]
        return segments[-1]

    def judged(self, deployment: str, model: str, fingerprint: str, score: float, now_ms: int) -> bool:
        """Records a judge score; returns True when it raises a change-point alert."""
        segment = self._segment(deployment, model, fingerprint, now_ms)
        segment.judge.append(score)
        segment.timeline.judged(score, now_ms)
        alarm = segment.detector.update(score)
        if alarm:
            segment.timeline.alerted(now_ms)
        return alarm

    def state(self) -> dict[str, Any]:
        """Returns every segment, its scores and its detector as plain data."""
        return {
            deployment: [
                {
                    "model": s.model,
                    "fingerprint": s.fingerprint,
                    "started_ms": s.started_ms,
                    "judge": list(s.judge),
                    "feedback": list(s.feedback),
                    "detector": asdict(s.detector),
                    "timeline": s.timeline.state(),
                }
                for s in segments
            ]
            for deployment, segments in self._segments.items()
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Replaces the segments with those of a state() (KeyError/TypeError when it is not one)."""
        self._segments = {
            deployment: [
                Segment(
                    str(s["model"]),
                    str(s["fingerprint"]),
                    int(s["started_ms"]),
                    _series(s["judge"]),
                    _series(s["feedback"]),
                    Cusum(**s["detector"]),
                    Timeline.restored(s["timeline"]),
                )
                for s in segments
            ]
            for deployment, segments in state.items()
        }

    def current_judge_mean(self, deployment: str) -> float | None:
        """Returns the mean judge score of the deployment's newest segment (None before its first score)."""
        segments = self._segments.get(deployment)
        scores = segments[-1].judge if segments else ()
        return sum(scores) / len(scores) if scores else None

    def rated(self, deployment: str, model: str, score: float, now_ms: int) -> None:
        """Records a user's feedback in the deployment's newest segment of that model (or its newest)."""
        segments = self._segments.get(deployment)
        if not segments:
            segments = [Segment(model, "", now_ms)]
            self._segments[deployment] = segments
        match = next((s for s in reversed(segments) if s.model == model), segments[-1])
        match.feedback.append(score)
        match.timeline.rated(score, now_ms)

    def summary(self, deployment: str = "") -> list[DeploymentSegments]:
        """Returns (deployment, its segments' estimates, oldest first) for one deployment or all of them."""
        names = [deployment] if deployment else sorted(self._segments)
        return [
            (
                name,
                [
                    SegmentSummary(
                        s.model,
                        s.fingerprint,
                        s.started_ms,
                        bootstrap_mean(list(s.judge)),
                        bootstrap_mean(list(s.feedback)),
                        s.detector.alarms,
                        s.timeline.alerts_ms,
                        s.timeline.buckets(),
                    )
                    for s in self._segments.get(name, [])
                ],
            )
            for name in names
        ]


@dataclass(frozen=True)
class SegmentSummary:
    model: str
    fingerprint: str
    started_ms: int
    judge: Estimate
    feedback: Estimate
    alerts: int
    alerts_ms: list[int]
    hours: list[Bucket]


DeploymentSegments = tuple[str, list[SegmentSummary]]


@dataclass
class Arm:
    """One experiment arm's observations."""

    judge: deque[float] = field(default_factory=_series)
    feedback: deque[float] = field(default_factory=_series)
    cost: deque[float] = field(default_factory=_series)
    latency: deque[float] = field(default_factory=_series)
    errors: deque[float] = field(default_factory=_series)


@dataclass(frozen=True)
class ArmSummary:
    name: str
    samples: int
    judge: Estimate
    feedback: Estimate
    cost: Estimate
    latency: Estimate
    error_rate: Estimate


@dataclass(frozen=True)
class Report:
    name: str
    arms: list[ArmSummary]
    shadows: dict[str, tuple[int, int, int]]
    verdict: str
    difference: Estimate | None


class ExperimentBook:
    """Per experiment: each arm's judge scores, feedback, cost, latency and errors; shadow pair verdicts."""

    def __init__(self) -> None:
        self._arms: dict[str, dict[str, Arm]] = {}
        self._shadows: dict[str, dict[str, list[int]]] = {}

    def arm(self, experiment: str, arm: str) -> Arm:
        return self._arms.setdefault(experiment, {}).setdefault(arm, Arm())

    def completed(self, experiment: str, arm: str, ok: bool, cost: float, latency_ms: float) -> None:
        entry = self.arm(experiment, arm)
        entry.errors.append(0.0 if ok else 1.0)
        if ok:
            entry.cost.append(cost)
            entry.latency.append(latency_ms)

    def paired(self, experiment: str, target: str, outcome: str) -> None:
        """Counts a shadow pair's verdict: "win" (the shadow copy's answer was better), "loss" or "tie"."""
        counts = self._shadows.setdefault(experiment, {}).setdefault(target, [0, 0, 0])
        counts[("win", "loss", "tie").index(outcome)] += 1

    def known(self, experiment: str) -> bool:
        return experiment in self._arms or experiment in self._shadows

    def state(self) -> dict[str, Any]:
        """Returns every arm's series and the shadow pairs' counts as plain data."""
        arms = {
            experiment: {name: {k: list(v) for k, v in vars(arm).items()} for name, arm in entries.items()}
            for experiment, entries in self._arms.items()
        }
        return {"arms": arms, "shadows": self._shadows}

    def restore(self, state: dict[str, Any]) -> None:
        """Replaces the arms and shadow counts with those of a state() (KeyError/TypeError when it is not one)."""
        self._arms = {
            experiment: {name: Arm(**{k: _series(v) for k, v in series.items()}) for name, series in entries.items()}
            for experiment, entries in state["arms"].items()
        }
        self._shadows = {
            experiment: {target: [int(count) for count in counts] for target, counts in targets.items()}
            for experiment, targets in state["shadows"].items()
        }

    def names(self) -> list[str]:
        """Returns the experiments seen, sorted."""
        return sorted(set(self._arms) | set(self._shadows))

    def report(self, experiment: str, order: list[str] | None = None) -> Report:
        """Returns the experiment's report; the baseline is the first arm of `order` (config order) seen."""
        arms = self._arms.get(experiment, {})
        names = [n for n in (order or []) if n in arms] + sorted(n for n in arms if n not in (order or []))
        summaries = [_summary(name, arms[name]) for name in names]
        shadows = {t: (c[0], c[1], c[2]) for t, c in self._shadows.get(experiment, {}).items()}
        if len(names) < 2:
            return Report(experiment, summaries, shadows, "needs two arms with traffic to compare", None)
        base, cand = arms[names[0]], arms[names[1]]
        difference = bootstrap_difference(list(base.judge), list(cand.judge))
        words = verdict(
            ArmNumbers(names[0], list(base.judge), summaries[0].cost.mean),
            ArmNumbers(names[1], list(cand.judge), summaries[1].cost.mean),
            difference,
        )
        return Report(experiment, summaries, shadows, words, difference)


def _summary(name: str, arm: Arm) -> ArmSummary:
    return ArmSummary(
        name,
        len(arm.errors),
        bootstrap_mean(list(arm.judge)),
        bootstrap_mean(list(arm.feedback)),
        bootstrap_mean(list(arm.cost)),
        bootstrap_mean(list(arm.latency)),
        bootstrap_mean(list(arm.errors)),
    )
