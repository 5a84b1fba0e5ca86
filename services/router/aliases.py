"""Aliases routed by policy: `auto` sends a request to the cheap or the strong group by its complexity."""

from __future__ import annotations

from dataclasses import dataclass

from switchyard.classifier.v1 import classifier_pb2

from services.classifier.models.complexity import ComplexityModel
from services.common.config import AliasPolicy


@dataclass(frozen=True)
class AliasChoice:
    """The group an alias resolved to, and why."""

    group: str
    reason: str


class AutoPolicy:
    """Chooses the strong group when P(cheap model is as good) falls below the alias's threshold.

    The threshold comes from the complexity model's calibration table, so that about `strong_share`
    of requests go to the strong group; without an analysis (classifier down) the strong group
    answers, since quality is the safe side to err on.
    """

    def __init__(self, alias: AliasPolicy, threshold: float) -> None:
        self._alias = alias
        self.threshold = threshold

    @classmethod
    def calibrated(cls, alias: AliasPolicy, model: ComplexityModel) -> AutoPolicy:
        return cls(alias, model.threshold_for_share(alias.strong_share))

    def choose(self, analysis: classifier_pb2.AnalyzeResponse | None) -> AliasChoice:
        alias = self._alias
        if analysis is None:
            return AliasChoice(alias.strong, f"auto: no analysis, so the strong group {alias.strong}")
        p = analysis.complexity.p_cheap_ok
        strong = p < self.threshold
        group = alias.strong if strong else alias.cheap
        sign = "<" if strong else ">="
        return AliasChoice(
            group,
            f"auto: p_cheap_ok {p:.2f} {sign} {self.threshold:.2f} (for {alias.strong_share:.0%} strong) -> {group}",
        )
