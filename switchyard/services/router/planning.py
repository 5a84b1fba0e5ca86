"""Planning one target: its candidates screened by the filters, then ranked by its strategy.

Filters first (residency, capabilities, context window, unavailable, open circuits: filters.py),
then the target's strategy within `order` tiers; deployments at or above the utilisation threshold
of their rpm/tpm follow the others, half-open circuits come last as probes. Pure: the candidates
carry a snapshot of the shared state.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from switchyard.common.v1 import errors_pb2 as E
from switchyard.config import Config, ModelEntry
from switchyard.runtime.errors import SwitchyardError, reason_name
from switchyard.services.router.filters import Profile, Screen, profile_of, region_map, residency_problem
from switchyard.services.router.strategies import Candidate, Plan, RequestFacts, Skip, Strategy


class Planner:
    """The filters of one config, and the ranking of what passes them."""

    def __init__(self, config: Config) -> None:
        switchyard = config.switchyard
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
        tiered), the hot ones and the probes last, with those left out and why."""
        screened = self._screen.run(candidates, facts, unavailable)
        order: list[Candidate] = []
        head: Plan | None = None
        for part in (screened.ready, screened.hot):
            for tier in _tiers(part, tiered):
                ranked = strategy.plan(tier, facts)
                head = head or ranked
                order.extend(ranked.order)
        order.extend(screened.probes)
        notes = _notes(screened.skipped, len(screened.hot), len(screened.probes), self._screen.threshold)
        if head is None:
            reason = "no candidate left" + (f": {notes}" if notes else "")
            return Plan(strategy.name, tuple(order), reason, 0.0, tuple(screened.skipped))
        reason = head.reason + (f"; {notes}" if notes else "")
        return Plan(strategy.name, tuple(order), reason, head.score, tuple(screened.skipped))


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
        notes.append(f"{probes} half-open probe(s) last")
    return "; ".join(notes)
