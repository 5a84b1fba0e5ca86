"""cost-quality (the `auto` policy): the cheapest deployment predicted to be good enough for this request.

Predicted quality of deployment d for request r:

    Q(d, r) = p + (1 - p) * q_d

where p is the classifier's p_cheap_ok for r (the probability that even a cheap model answers as
well as the strongest one) and q_d is the deployment's configured `quality` (its quality for r's
category when `quality_by_category` names it; 0 when unrated): on the share p of easy requests any
deployment does well, on the hard rest d does as well as the strongest with probability q_d. So Q
is the predicted probability that d answers r as well as the strongest model. A deployment meets
the quality floor F when Q >= F, which for q_d < F means p >= (F - q_d) / (1 - q_d); a deployment
with q_d >= F always meets it. Without an analysis p comes from the prompt length alone:
p = midpoint / (prompt_tokens + midpoint), the classifier's own length-based fallback.

Ranking: deployments meeting the floor by expected cost (unpriced last), then the rest by Q, best
first, so failover degrades towards quality, never towards the cheapest.
"""

from __future__ import annotations

from collections.abc import Sequence

from switchyard.services.router.strategies.base import Candidate, Plan, RequestFacts, StrategyOptions, register
from switchyard.services.router.strategies.cost import expected_cost


def length_p_cheap_ok(prompt_tokens: int, midpoint_tokens: int) -> float:
    """Returns the length-based p_cheap_ok: 1 for an empty prompt, 0.5 at the midpoint, towards 0 beyond."""
    tokens = max(prompt_tokens, 0)
    return midpoint_tokens / (tokens + midpoint_tokens)


def p_cheap_ok_of(facts: RequestFacts, midpoint_tokens: int) -> float:
    """Returns the classifier's p_cheap_ok, or the length-based one when the request was not analysed."""
    if facts.p_cheap_ok is not None:
        return facts.p_cheap_ok
    return length_p_cheap_ok(facts.prompt_tokens, midpoint_tokens)


def _quality(candidate: Candidate, category: str, p: float) -> float:
    info = candidate.entry.model_info
    quality = info.quality_by_category.get(category, info.quality) if category else info.quality
    return p + (1.0 - p) * (quality or 0.0)


def predicted_quality(candidate: Candidate, facts: RequestFacts, midpoint_tokens: int) -> float:
    """Returns Q(d, r), the predicted probability that the deployment answers as well as the strongest."""
    return _quality(candidate, facts.category, p_cheap_ok_of(facts, midpoint_tokens))


@register("cost-quality")
class CostQuality:
    """Cheapest deployment whose predicted quality reaches the floor; see the module docstring."""

    name = "cost-quality"

    def __init__(self, options: StrategyOptions | None = None) -> None:
        options = options or StrategyOptions()
        self.floor = options.quality_floor
        self._output = options.expected_output_tokens
        self._midpoint = options.length_midpoint_tokens

    def plan(self, candidates: Sequence[Candidate], facts: RequestFacts) -> Plan:
        if not candidates:
            return Plan(self.name, (), "no candidates")
        good: list[tuple[float, int, Candidate, float]] = []
        short: list[tuple[float, float, int, Candidate]] = []
        p, category, floor, output = p_cheap_ok_of(facts, self._midpoint), facts.category, self.floor, self._output
        for index, candidate in enumerate(candidates):
            quality = _quality(candidate, category, p)
            cost = expected_cost(candidate, facts, output)
            if quality >= floor:
                good.append((cost, index, candidate, quality))
            else:
                short.append((-quality, cost, index, candidate))
        # The unique index settles every tie, so candidates themselves are never compared.
        good.sort()
        short.sort()
        ranked = tuple([g[2] for g in good] + [s[3] for s in short])
        source = "p_cheap_ok" if facts.p_cheap_ok is not None else "length-based p_cheap_ok"
        if good:
            cost, _, chosen, quality = good[0]
            price = "unpriced" if cost == float("inf") else f"${cost:.6f}"
            reason = (
                f"cheapest with predicted quality >= {self.floor:.2f}: {chosen.deployment_id} "
                f"(Q {quality:.2f} from {source}, {price})"
            )
            return Plan(self.name, ranked, reason, score=quality)
        best = -short[0][0]
        reason = f"none reaches quality {self.floor:.2f}; best predicted {ranked[0].deployment_id} (Q {best:.2f})"
        return Plan(self.name, ranked, reason, score=best)
