"""cost-based-routing: the deployment with the lowest expected cost for this request first."""

from __future__ import annotations

from collections.abc import Sequence

from switchyard.services.router.strategies.base import (
    Candidate,
    Plan,
    RequestFacts,
    StrategyOptions,
    prompt_tokens_for,
    register,
)

UNPRICED = float("inf")


def expected_cost(candidate: Candidate, facts: RequestFacts, expected_output_tokens: int) -> float:
    """Returns the expected USD cost of the request on a deployment, or UNPRICED when it has no prices.

    The completion is taken to be expected_output_tokens long, or max_tokens when the client asked
    for fewer; a deployment with only one of the two prices counts the other as free.
    """
    info = candidate.entry.model_info
    if info.input_cost_per_token is None and info.output_cost_per_token is None:
        return UNPRICED
    output = expected_output_tokens
    if facts.max_output_tokens is not None:
        output = min(output, facts.max_output_tokens)
    prompt = prompt_tokens_for(candidate.entry, facts) if facts.tokens_by_family else facts.prompt_tokens
    return prompt * (info.input_cost_per_token or 0.0) + output * (info.output_cost_per_token or 0.0)


@register("cost-based-routing")
class CostBased:
    """Cheapest first (ties keep config order); unpriced deployments come last."""

    name = "cost-based-routing"

    def __init__(self, options: StrategyOptions | None = None) -> None:
        self._output = (options or StrategyOptions()).expected_output_tokens

    def plan(self, candidates: Sequence[Candidate], facts: RequestFacts) -> Plan:
        if not candidates:
            return Plan(self.name, (), "no candidates")
        costs = [(expected_cost(c, facts, self._output), index, c) for index, c in enumerate(candidates)]
        costs.sort()  # the unique index settles ties, so candidates are never compared
        best = costs[0][0]
        if best == UNPRICED:
            reason = "no candidate has prices; config order"
            return Plan(self.name, tuple(c for _, _, c in costs), reason)
        reason = f"cheapest: {costs[0][2].deployment_id} at an expected ${best:.6f}"
        return Plan(self.name, tuple(c for _, _, c in costs), reason, score=best)
