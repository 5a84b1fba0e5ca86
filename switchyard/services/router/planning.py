"""Planning one target: its candidates screened by the filters, then ranked by its strategy.

Filters first (residency, capabilities, context window, unavailable, open circuits: filters.py),
then the target's strategy within `order` tiers; deployments at or above the utilisation threshold
of their rpm/tpm follow the others. Pure but for the draw of the slow-start ramp: the candidates
carry a snapshot of the shared state.

Recovery, for a deployment whose circuit opened (cooldown_time after it opened):

    half-open      it heads its tier, so the next request sent there claims its one probe (gate.py;
                   the claim is shared by every replica) and real traffic, not the active health
                   check, finds out whether it answers again; a request that finds the probe taken
                   passes it over
    closed again   the probe answered: for `slow_start_s` its share of first places grows linearly
                   from SLOW_START_MIN_WEIGHT to all of it (Envoy's slow start). Each plan keeps it
                   where its strategy ranked it with probability `ramp_weight`, else moves it behind
                   the deployments of the tier that are not ramping, so a just-recovered deployment
                   is not handed its whole share of a burst at once.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping, Sequence

from switchyard.common.v1 import errors_pb2 as E
from switchyard.config import Config, ModelEntry
from switchyard.runtime.errors import SwitchyardError, reason_name
from switchyard.services.router.filters import Profile, Screen, profile_of, region_map, residency_problem
from switchyard.services.router.strategies import Candidate, DeploymentStats, Plan, RequestFacts, Skip, Strategy

# The share of its first places a deployment gets back when its circuit closes (Envoy's min_weight_percent).
SLOW_START_MIN_WEIGHT = 0.1


def ramp_weight(stats: DeploymentStats, slow_start_s: float) -> float:
    """Returns the share (0.1 to 1) of its first places a deployment gets while it ramps up after recovery."""
    if stats.recovered_s is None or slow_start_s <= 0 or stats.recovered_s >= slow_start_s:
        return 1.0
    return max(SLOW_START_MIN_WEIGHT, stats.recovered_s / slow_start_s)


class Planner:
    """The filters of one config, and the ranking of what passes them."""

    def __init__(self, config: Config, rng: random.Random | None = None) -> None:
        switchyard = config.switchyard
        self._rng = rng or random.Random()
        self._slow_start_s = config.router_settings.slow_start_s
        regions = region_map(switchyard.residency)
        default_class = switchyard.residency.default_deployment_classification

        def make_profile(entry: ModelEntry) -> Profile:
            return profile_of(entry, regions, default_class)

        profiles = {entry.deployment_id: make_profile(entry) for entry in config.model_list}
        self._screen = Screen(profiles, make_profile, regions, switchyard.routing.utilisation_threshold)

    def data_problem(self, entry: ModelEntry, facts: RequestFacts) -> str | None:
        """Returns why residency keeps the request's data from a deployment, None when it does not."""
        return residency_problem(self._screen.profile(entry), facts)

    def plan(
        self,
        strategy: Strategy,
        tiered: bool,
        candidates: Sequence[Candidate],
        facts: RequestFacts,
        unavailable: Mapping[str, str],
    ) -> Plan:
        """Returns the candidates that pass the filters ranked by strategy (within `order` tiers when
        tiered), each half-open probe at the head of its tier, the hot ones last, with those left out and why."""
        screened = self._screen.run(candidates, facts, unavailable)
        order: list[Candidate] = []
        head: Plan | None = None
        probes = {id(c) for c in screened.probes}
        for part in (screened.ready + screened.probes, screened.hot):
            for tier in _tiers(part, tiered):
                order.extend(c for c in tier if id(c) in probes)
                ready = [c for c in tier if id(c) not in probes]
                if not ready:
                    continue
                ranked = strategy.plan(ready, facts)
                head = head or ranked
                order.extend(self._ramped(ranked.order))
        notes = _notes(screened.skipped, len(screened.hot), len(screened.probes), self._screen.threshold)
        if head is None:
            reason = "no candidate left" + (f": {notes}" if notes else "")
            return Plan(strategy.name, tuple(order), reason, 0.0, tuple(screened.skipped))
        reason = head.reason + (f"; {notes}" if notes else "")
        return Plan(strategy.name, tuple(order), reason, head.score, tuple(screened.skipped))

    def _ramped(self, ranked: Sequence[Candidate]) -> list[Candidate]:
        """Returns a tier's ranking with each ramping deployment kept in place with its ramp weight's
        probability, else moved behind the others."""
        kept: list[Candidate] = []
        behind: list[Candidate] = []
        for candidate in ranked:
            weight = ramp_weight(candidate.stats, self._slow_start_s)
            (kept if weight >= 1.0 or self._rng.random() < weight else behind).append(candidate)
        return kept + behind


def no_route_error(requested: str, skipped: Sequence[Skip]) -> SwitchyardError:
    """Returns the error for a request no deployment could even be tried for.

    When residency ruled any deployment out the request fails closed with NO_ALLOWED_DEPLOYMENT
    (it is never sent elsewhere); otherwise the error of the candidates that got furthest: open
    circuits and unavailable deployments (503), else the context window (400), else a missing
    capability (400), else the key's reach (PERMISSION_DENIED, 403: every deployment left was one
    the key may not use; scope.py).
    """
    reasons = {skip.reason for skip in skipped}
    causes = "; ".join(f"{s.deployment_id}: {s.detail}" for s in skipped) or "no deployments"
    for reason, what in (
        (E.ERROR_REASON_NO_ALLOWED_DEPLOYMENT, "no deployment allowed for this request's data is available"),
        (E.ERROR_REASON_DEPLOYMENT_UNAVAILABLE, "no deployment is available"),
        (E.ERROR_REASON_CONTEXT_WINDOW_EXCEEDED, "the request does not fit the context window of any deployment"),
        (E.ERROR_REASON_INVALID_REQUEST, "no deployment supports what the request needs"),
        (E.ERROR_REASON_PERMISSION_DENIED, "the key may not use any deployment this request can reach"),
    ):
        if reason in reasons:
            return SwitchyardError(reason, f"model '{requested}': {what}: {causes}", param="model")
    return SwitchyardError(E.ERROR_REASON_DEPLOYMENT_UNAVAILABLE, f"model '{requested}': {causes}")


def has_tiers(entries: Sequence[ModelEntry]) -> bool:
    """Returns whether the entries carry different `order` priorities."""
    return len({entry.litellm_params.order for entry in entries}) > 1


def _tiers(part: list[Candidate], tiered: bool) -> list[list[Candidate]]:
    """Returns candidates split into `order` tiers, lowest first (unset after set)."""
    if not part or not tiered:
        return [part] if part else []
    tiers: dict[float, list[Candidate]] = {}
    for candidate in part:
        order = candidate.entry.litellm_params.order
        tiers.setdefault(float("inf") if order is None else float(order), []).append(candidate)
    return [tiers[key] for key in sorted(tiers)]


def _notes(skipped: Sequence[Skip], hot: int, probes: int, threshold: float) -> str:
    notes = []
    if skipped:
        counts = Counter(skip.reason for skip in skipped)
        notes.append(f"{len(skipped)} skipped (" + ", ".join(f"{reason_name(k)}: {v}" for k, v in counts.items()) + ")")
    if hot:
        notes.append(f"{hot} deprioritised at >= {threshold:.0%} of rpm/tpm")
    if probes:
        notes.append(f"{probes} half-open probe(s) first")
    return "; ".join(notes)
