"""Aliases routed by policy.

- `auto` over two groups (`cheap`, `strong`): the strong group when the classifier's p_cheap_ok falls
  below a threshold calibrated so that about `strong_share` of requests go there (AutoPolicy).
- `auto` over a pool: the cost-quality strategy (strategies/quality.py) with the alias's floor.
- `cheap` over a pool: cost-based-routing; `fast` over a pool: latency-based-routing.
"""

from __future__ import annotations

from dataclasses import dataclass

from switchyard.config.schema import AliasPolicy
from switchyard.ml.complexity import ComplexityModel

# The strategy each pool policy ranks its deployments with.
POLICY_STRATEGIES: dict[str, str] = {
    "cheap": "cost-based-routing",
    "fast": "latency-based-routing",
    "auto": "cost-quality",
}


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
        if alias.cheap is None or alias.strong is None:
            raise ValueError("AutoPolicy routes the auto alias over two groups; RoutingTable plans pool aliases")
        self._alias = alias
        self._cheap, self._strong = alias.cheap, alias.strong
        self.threshold = threshold

    @classmethod
    def calibrated(cls, alias: AliasPolicy, model: ComplexityModel) -> AutoPolicy:
        return cls(alias, model.threshold_for_share(alias.strong_share))

    def choose_for(self, p_cheap_ok: float | None) -> AliasChoice:
        """Returns the group for a request with this p_cheap_ok (None: no analysis)."""
        if p_cheap_ok is None:
            return AliasChoice(self._strong, f"auto: no analysis, so the strong group {self._strong}")
        strong = p_cheap_ok < self.threshold
        group = self._strong if strong else self._cheap
        sign = "<" if strong else ">="
        share = self._alias.strong_share
        return AliasChoice(
            group, f"auto: p_cheap_ok {p_cheap_ok:.2f} {sign} {self.threshold:.2f} (for {share:.0%} strong) -> {group}"
        )
