"""usage-based-routing: the deployment with the most rpm/tpm headroom in the current minute first."""

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


def headroom(candidate: Candidate, prompt_tokens: int) -> float:
    """Returns the share of the tighter of a deployment's rpm and tpm limits still free after this request.

    1.0 for a deployment without limits; what the provider last reported it has left (rate-limit
    headers) counts when it is tighter than Switchyard's own count; never below 0.
    """
    stats, params = candidate.stats, candidate.entry.litellm_params
    free = 1.0
    rpm = stats.rpm_limit or params.rpm
    if rpm:
        free = min(free, (rpm - stats.rpm_used - 1) / rpm)
        if stats.remaining_requests is not None:
            free = min(free, (stats.remaining_requests - 1) / rpm)
    tpm = stats.tpm_limit or params.tpm
    if tpm:
        free = min(free, (tpm - stats.tpm_used - prompt_tokens) / tpm)
        if stats.remaining_tokens is not None:
            free = min(free, (stats.remaining_tokens - prompt_tokens) / tpm)
    return max(free, 0.0)


@register("usage-based-routing", "usage-based-routing-v2")
class UsageBased:
    """Most headroom first; ties go to the deployment that has used the fewest tokens this minute."""

    name = "usage-based-routing"

    def __init__(self, options: StrategyOptions | None = None) -> None:
        del options

    def plan(self, candidates: Sequence[Candidate], facts: RequestFacts) -> Plan:
        if not candidates:
            return Plan(self.name, (), "no candidates")
        keyed = [
            (-headroom(c, prompt_tokens_for(c.entry, facts)), c.stats.tpm_used, c.stats.rpm_used, index, c)
            for index, c in enumerate(candidates)
        ]
        keyed.sort(key=lambda k: k[:4])
        ranked = tuple(k[4] for k in keyed)
        free = -keyed[0][0]
        return Plan(self.name, ranked, f"most headroom: {ranked[0].deployment_id} ({free:.0%} free)", free)
