"""cost-quality (the `auto` policy): the cheapest deployment good enough for this request, by one of two rules.

The quality floor (the default). Predicted quality of deployment d for request r:

    Q(d, r) = p + (1 - p) * q_d

where p is the classifier's p_cheap_ok for r (the probability that even a cheap model answers as
well as the strongest one) and q_d is the deployment's configured `quality` (its quality for r's
category when `quality_by_category` names it), else the prior of its model from
switchyard.config.quality_priors (0 for a model it does not know): on the share p of easy requests any
deployment does well, on the hard rest d does as well as the strongest with probability q_d. So Q
is the predicted probability that d answers r as well as the strongest model. A deployment meets
the quality floor F when Q >= F, which for q_d < F means p >= (F - q_d) / (1 - q_d); a deployment
with q_d >= F always meets it. Without an analysis p comes from the prompt length alone:
p = midpoint / (prompt_tokens + midpoint), the classifier's own length-based fallback.
Ranking: deployments meeting the floor by expected cost (unpriced last), then the rest by Q, best
first, so failover degrades towards quality, never towards the cheapest.

The strong share (an alias's `strong_share`, ShareRule). The complexity model's calibration gives
the p_cheap_ok threshold below which about `strong_share` of requests fall. A request with p at or
above it goes to the cheapest deployment first (expected cost, unpriced last); one below it, or one
without an analysis (quality is the safe side to err on), to the highest-quality one first (unrated
last). Where prices or qualities are missing or equal, the pool is read cheap to strong: the rule's
`groups` in order (deployments of no listed group after them), then `order`, then file order.
"""

from __future__ import annotations

from collections.abc import Sequence

from switchyard.services.router.strategies.base import (
    Candidate,
    Plan,
    RequestFacts,
    ShareRule,
    StrategyOptions,
    register,
)
from switchyard.services.router.strategies.cost import UNPRICED, expected_cost


def length_p_cheap_ok(prompt_tokens: int, midpoint_tokens: int) -> float:
    """Returns the length-based p_cheap_ok: 1 for an empty prompt, 0.5 at the midpoint, towards 0 beyond."""
    tokens = max(prompt_tokens, 0)
    return midpoint_tokens / (tokens + midpoint_tokens)


def p_cheap_ok_of(facts: RequestFacts, midpoint_tokens: int) -> float:
    """Returns the classifier's p_cheap_ok, or the length-based one when the request was not analysed."""
    if facts.p_cheap_ok is not None:
        return facts.p_cheap_ok
    return length_p_cheap_ok(facts.prompt_tokens, midpoint_tokens)


@register("cost-quality")
class CostQuality:
    """Cheapest deployment good enough for the request, by the quality floor or the strong share; see the
    module docstring."""

    name = "cost-quality"

    def __init__(self, options: StrategyOptions | None = None) -> None:
        options = options or StrategyOptions()
        self.floor = options.quality_floor
        self.share = options.share
        self._output = options.expected_output_tokens
        self._midpoint = options.length_midpoint_tokens

    def plan(self, candidates: Sequence[Candidate], facts: RequestFacts) -> Plan:
        if not candidates:
            return Plan(self.name, (), "no candidates")
        if self.share is not None:
            return self._by_share(self.share, candidates, facts)
        return self._by_floor(candidates, facts)

    def _by_floor(self, candidates: Sequence[Candidate], facts: RequestFacts) -> Plan:
        """Returns those meeting the floor cheapest first, then the rest by predicted quality."""
        good: list[tuple[float, int, Candidate, float]] = []
        short: list[tuple[float, float, int, Candidate]] = []
        p, floor, output = p_cheap_ok_of(facts, self._midpoint), self.floor, self._output
        for index, candidate in enumerate(candidates):
            quality = p + (1.0 - p) * (candidate.entry.quality_for(facts.category) or 0.0)
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
            reason = (
                f"cheapest with predicted quality >= {self.floor:.2f}: {chosen.deployment_id} "
                f"(Q {quality:.2f} from {source}, {_price(cost)})"
            )
            return Plan(self.name, ranked, reason, score=quality)
        best = -short[0][0]
        reason = f"none reaches quality {self.floor:.2f}; best predicted {ranked[0].deployment_id} (Q {best:.2f})"
        return Plan(self.name, ranked, reason, score=best)

    def _by_share(self, rule: ShareRule, candidates: Sequence[Candidate], facts: RequestFacts) -> Plan:
        """Returns the cheapest first for a request at or above the rule's threshold, else the highest quality."""
        p, threshold = facts.p_cheap_ok, rule.threshold
        cheap = p is not None and p >= threshold
        keyed: list[tuple[tuple[float, ...], Candidate]] = []
        for index, candidate in enumerate(candidates):
            entry = candidate.entry
            rung = rule.groups.index(entry.model_name) if entry.model_name in rule.groups else len(rule.groups)
            order = entry.litellm_params.order
            # Ties go cheap to strong by rung, then by `order` and file order within a group, whichever end
            # is wanted; the unique index ends every key, so candidates themselves are never compared.
            within = (float("inf") if order is None else float(order), float(index))
            key: tuple[float, ...]
            if cheap:
                key = (expected_cost(candidate, facts, self._output), float(rung), *within)
            else:
                quality = entry.quality_for(facts.category)
                key = (float(quality is None), -(quality or 0.0), float(-rung), *within)
            keyed.append((key, candidate))
        keyed.sort(key=lambda pair: pair[0])
        ranked = tuple(candidate for _, candidate in keyed)
        chosen = ranked[0]
        why = "no analysis"
        if p is not None:
            why = f"p_cheap_ok {p:.2f} {'>=' if cheap else '<'} {threshold:.2f} (for {rule.strong_share:.0%} strong)"
        if cheap:
            price = _price(expected_cost(chosen, facts, self._output))
            return Plan(self.name, ranked, f"{why}: cheapest {chosen.deployment_id} ({price})", score=p or 0.0)
        quality = chosen.entry.quality_for(facts.category)
        rated = "unrated" if quality is None else f"quality {quality:.2f}"
        return Plan(self.name, ranked, f"{why}: highest quality {chosen.deployment_id} ({rated})", score=p or 0.0)


def _price(cost: float) -> str:
    return "unpriced" if cost == UNPRICED else f"${cost:.6f}"
