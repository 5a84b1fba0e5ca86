"""The routing table: from the model a client asked for to a ranked, explained plan of deployments.

Built once per config (a hot reload builds a new table and swaps it in); every call after that is
pure and does no I/O. How the pipeline uses it (switchyard/services/router/walk.py):

    table = RoutingTable.build(config)                   # at start-up and on each reload
    facts = facts_of(request, context, analysis)         # switchyard/services/router/facts.py
    resolution = table.resolve(request.model, facts)     # raises MODEL_NOT_FOUND for unknown names
    chain = GroupChain(table.fallback_table, resolution.target, resolution.requested)
    while (group := chain.next()) is not None:           # the target, then its fallbacks
        target = resolution if group == resolution.target else table.target(group, facts)
        plan = table.plan(target, candidates(target.entries, state.snapshot(limits)), facts, unavailable)
        ...try plan.order in turn; plan.skipped become SKIPPED attempts in the route record...
        ...an empty plan whose skips are windows too small: chain.widen(group), context_window_fallbacks next...
    if no deployment was even tried:
        raise no_route_error(resolution.requested, skipped)
    if resolution.shadow is not None:                    # planned the same way, called in the background:
        ...                                              # its answer recorded, never returned

Fallback groups are planned with the same `facts`, so residency, capability and window filters hold
for them exactly as for the first group: a request whose data may not leave the EU fails closed
with NO_ALLOWED_DEPLOYMENT rather than falling back to a deployment elsewhere.
"""

from __future__ import annotations

import dataclasses
import random
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from switchyard.common.v1 import errors_pb2 as E
from switchyard.config.schema import AliasPolicy, Config, ConfigError, ContentRule, ModelEntry, alias_pool
from switchyard.ml.complexity import ComplexityModel
from switchyard.runtime.errors import SwitchyardError, reason_name
from switchyard.services.router.aliases import POLICY_STRATEGIES, AutoPolicy
from switchyard.services.router.experiments import assign, wants_shadow
from switchyard.services.router.failover import Fallbacks, GroupChain, Next
from switchyard.services.router.filters import Profile, Screen, profile_of, region_map
from switchyard.services.router.rules import describe, first_match
from switchyard.services.router.strategies import (
    Candidate,
    DeploymentStats,
    Plan,
    RequestFacts,
    Skip,
    Strategy,
    StrategyOptions,
)
from switchyard.services.router.strategies import lookup as lookup_strategy

FallbackKind = Literal["error", "context_window", "content_policy"]


@dataclass(frozen=True)
class Resolution:
    """Where a request is routed: the group or alias pool, its strategy, and why."""

    requested: str
    # target: the group or alias whose deployments are planned.
    target: str
    kind: Literal["group", "alias"]
    entries: tuple[ModelEntry, ...]
    strategy: Strategy
    reason: str
    needs: frozenset[str] = frozenset()
    min_context_tokens: int = 0
    # tiered: whether the entries carry different `order` priorities.
    tiered: bool = False
    # rule: why a content rule rerouted the request ("rule code (code) -> coder"); rule_name: the rule alone.
    rule: str = ""
    rule_name: str = ""
    experiment: str = ""
    arm: str = ""
    # shadow: where a copy of the request goes; its answer is recorded, never returned.
    shadow: Resolution | None = None

    def facts_for(self, facts: RequestFacts) -> RequestFacts:
        """Returns the facts with the capabilities this target always needs added."""
        if not self.needs and not self.min_context_tokens:
            return facts
        return dataclasses.replace(
            facts,
            needs_tools=facts.needs_tools or "tools" in self.needs,
            needs_vision=facts.needs_vision or "vision" in self.needs,
            needs_json=facts.needs_json or "json" in self.needs,
            min_context_tokens=max(facts.min_context_tokens, self.min_context_tokens),
        )


def candidates(entries: Iterable[ModelEntry], stats: Mapping[str, DeploymentStats]) -> list[Candidate]:
    """Returns a candidate per deployment with its stats snapshot (empty stats when none is known)."""
    empty = DeploymentStats()
    return [Candidate(entry, stats.get(entry.deployment_id, empty)) for entry in entries]


class RoutingTable:
    """Groups, aliases, content rules and experiments of one config, ready to route requests."""

    def __init__(self, config: Config, complexity: ComplexityModel | None, rng: random.Random) -> None:
        self._config = config
        self._rng = rng
        switchyard = config.switchyard
        routing = switchyard.routing
        regions = region_map(switchyard.residency)
        default_class = switchyard.residency.default_deployment_classification

        def make_profile(entry: ModelEntry) -> Profile:
            return profile_of(entry, regions, default_class)

        profiles = {entry.deployment_id: make_profile(entry) for entry in config.model_list}
        self._screen = Screen(profiles, make_profile, regions, routing.utilisation_threshold)
        self._options = StrategyOptions(
            rng=rng,
            exploration_rate=routing.exploration_rate,
            expected_output_tokens=routing.expected_output_tokens,
            quality_floor=routing.quality_floor,
            length_midpoint_tokens=routing.length_midpoint_tokens,
        )
        self._groups = {name: self._group(name, entries) for name, entries in config.groups().items()}
        self._aliases: dict[str, Resolution] = {}
        self._auto: dict[str, AutoPolicy] = {}
        for name, alias in switchyard.aliases.items():
            if alias.two_groups:
                self._auto[name] = _calibrated(alias, complexity)
            else:
                self._aliases[name] = self._pool(name)
        self._fallbacks = Fallbacks.from_settings(config.router_settings)
        self._experiments = dict(switchyard.experiments.items())
        self._by_model = {e.model: name for name, e in self._experiments.items()}
        rules = list(enumerate(switchyard.rules))
        self._rules: dict[str, list[tuple[int, ContentRule]]] = {
            name: [(i, rule) for i, rule in rules if not rule.models or name in rule.models]
            for name in [*self._groups, *switchyard.aliases, *self._by_model]
        }

    @classmethod
    def build(
        cls, config: Config, complexity: ComplexityModel | None = None, rng: random.Random | None = None
    ) -> RoutingTable:
        """Returns the table of a config; `auto` aliases over two groups are calibrated with the
        complexity model (the packaged one unless given). Raises ConfigError for what pydantic cannot see."""
        _check_rule_categories(config)
        return cls(config, complexity, rng or random.Random())

    # ------------------------------------------------------------------ names

    def names(self) -> list[tuple[str, str]]:
        """Returns (name, kind) of every name a client may ask for: groups, then aliases and experiments."""
        result = [(name, "group") for name in self._groups]
        result += [(name, "alias") for name in self._config.switchyard.aliases]
        known = {name for name, _ in result}
        result += [(model, "alias") for model in self._by_model if model not in known]
        return result

    @property
    def config(self) -> Config:
        """Returns the config this table was built from."""
        return self._config

    @property
    def fallback_table(self) -> Fallbacks:
        """Returns router_settings' fallback tables, which GroupChain walks."""
        return self._fallbacks

    def strategies_by_deployment(self) -> dict[str, frozenset[str]]:
        """Returns, per deployment id, the names of the strategies that may rank it (its group's and pools')."""
        found: dict[str, set[str]] = {}
        for resolution in (*self._groups.values(), *self._aliases.values()):
            for entry in resolution.entries:
                found.setdefault(entry.deployment_id, set()).add(resolution.strategy.name)
        return {deployment_id: frozenset(names) for deployment_id, names in found.items()}

    def fixed_target(self, name: str) -> str | None:
        """Returns the target a name always resolves to, whatever the request says (a group or pool alias
        no content rule or experiment applies to), or None when the analysis may change it."""
        if self._rules.get(name) or name in self._by_model or name in self._auto:
            return None
        return name if name in self._groups or name in self._aliases else None

    def knows(self, name: str) -> bool:
        """Returns whether a client may ask for `name` (a group, an alias or an experiment's model)."""
        return self._knows(name) or name in self._by_model

    def fallbacks(self, resolved: Resolution | str, kind: FallbackKind = "error") -> list[str]:
        """Returns the groups tried, in order, once a target's own plan is exhausted (router_settings):
        those listed for the target, else for the name the client asked for, then default_fallbacks;
        for a context-window or content-policy failure, that kind's fallbacks instead."""
        if isinstance(resolved, Resolution):
            target, requested = resolved.target, resolved.requested
        else:
            target = requested = resolved
        chain = GroupChain(self._fallbacks, target, requested)
        first = chain.next()
        if kind == "context_window":
            chain.switch(Next.CONTEXT_WINDOW, target)
        elif kind == "content_policy":
            chain.switch(Next.CONTENT_POLICY, target)
        found = []
        while (group := chain.next()) is not None:
            found.append(group)
        return [group for group in found if group not in (first, requested)]

    # ------------------------------------------------------------------ resolve

    def resolve(self, requested: str, facts: RequestFacts) -> Resolution:
        """Returns where a request for `requested` is routed: content rules, then an experiment's arm,
        then the alias policy or group. Raises MODEL_NOT_FOUND for a name nobody configured."""
        if not self._knows(requested) and requested not in self._by_model:
            raise SwitchyardError(
                E.ERROR_REASON_MODEL_NOT_FOUND,
                f"The model `{requested}` does not exist or you do not have access to it.",
                param="model",
            )
        name, why, rule_name = requested, "", ""
        found = first_match(self._rules.get(requested, ()), facts)
        if found is not None:
            index, rule = found
            name, why = rule.route_to, f"{describe(index, rule)} ({facts.category or 'match'}) -> {rule.route_to}"
            rule_name = rule.name or f"#{index}"
        experiment_name = self._by_model.get(name)
        if experiment_name is None:
            resolution = self.target(name, facts)
        else:
            resolution = self._experiment(experiment_name, name, facts)
        return _with(resolution, requested, why, rule=why, rule_name=rule_name)

    def _knows(self, name: str) -> bool:
        return name in self._groups or name in self._aliases or name in self._auto

    def target(self, name: str, facts: RequestFacts) -> Resolution:
        """Returns the resolution of a group or alias name alone (no rules, no experiments): for fallbacks."""
        group = self._groups.get(name)
        if group is not None:
            return group
        pool = self._aliases.get(name)
        if pool is not None:
            return pool
        auto = self._auto.get(name)
        if auto is None:
            raise SwitchyardError(E.ERROR_REASON_MODEL_NOT_FOUND, f"no model group or alias is named `{name}`")
        choice = auto.choose_for(facts.p_cheap_ok)
        return dataclasses.replace(self._groups[choice.group], requested=name, reason=choice.reason)

    def _experiment(self, name: str, model: str, facts: RequestFacts) -> Resolution:
        """Returns the resolution of an experiment's model: its arm's target, and its shadow copy when drawn."""
        experiment = self._experiments[name]
        if experiment.arms:
            assignment = assign(name, experiment, facts, self._rng)
            arm = assignment.arm
            resolution = self.target(arm.group, facts)
            reason = f"experiment {name}: arm {arm.name} ({assignment.key_kind}) -> {arm.group}"
            resolution = dataclasses.replace(resolution, experiment=name, arm=arm.name)
        else:
            resolution, reason = dataclasses.replace(self.target(model, facts), experiment=name), ""
        shadow = experiment.shadow
        if shadow is not None and shadow.group != resolution.target and wants_shadow(experiment, self._rng):
            resolution = dataclasses.replace(resolution, shadow=self.target(shadow.group, facts))
            reason = f"{reason}; shadow copy to {shadow.group}" if reason else f"shadow copy to {shadow.group}"
        return _with(resolution, resolution.requested, reason, rule="", rule_name="")

    # ------------------------------------------------------------------ plan

    def plan(
        self,
        target: Resolution | str,
        candidates: Sequence[Candidate],
        facts: RequestFacts,
        unavailable: Mapping[str, str] | None = None,
    ) -> Plan:
        """Returns the ranked plan over the candidates of a target (a resolution, group or alias name).

        Filters first (residency, capabilities, context window, unavailable, open circuits), then the
        target's strategy within `order` tiers; deployments at or above the utilisation threshold of
        their rpm/tpm follow the others, half-open circuits come last as probes.
        """
        route = target if isinstance(target, Resolution) else self.target(target, facts)
        facts = route.facts_for(facts)
        screened = self._screen.run(candidates, facts, unavailable or {})
        strategy = route.strategy
        order: list[Candidate] = []
        head: Plan | None = None
        for part in (screened.ready, screened.hot):
            for tier in _tiers(part, route.tiered):
                ranked = strategy.plan(tier, facts)
                head = head or ranked
                order.extend(ranked.order)
        order.extend(screened.probes)
        late = tuple(c.deployment_id for c in (*screened.hot, *screened.probes))
        notes = _notes(screened.skipped, len(screened.hot), len(screened.probes), self._screen.threshold)
        if head is None:
            reason = "no candidate left" + (f": {notes}" if notes else "")
            return Plan(strategy.name, tuple(order), reason, 0.0, tuple(screened.skipped), late, route.target)
        reason = head.reason + (f"; {notes}" if notes else "")
        return Plan(strategy.name, tuple(order), reason, head.score, tuple(screened.skipped), late, route.target)

    # ------------------------------------------------------------------ build helpers

    def _strategy(self, name: str, floor: float | None = None) -> Strategy:
        options = self._options if floor is None else dataclasses.replace(self._options, quality_floor=floor)
        strategy = lookup_strategy(name, options)
        if strategy is None:
            raise ConfigError(f"routing strategy {name!r} is not available")
        return strategy

    def _group(self, name: str, entries: list[ModelEntry]) -> Resolution:
        settings = self._config.switchyard.groups.get(name)
        strategy_name = (settings and settings.routing_strategy) or self._config.router_settings.routing_strategy
        strategy = self._strategy(strategy_name, settings.quality_floor if settings else None)
        return Resolution(name, name, "group", tuple(entries), strategy, "", tiered=_has_tiers(entries))

    def _pool(self, name: str) -> Resolution:
        alias = self._config.switchyard.aliases[name]
        entries = tuple(alias_pool(self._config, alias))
        strategy = self._strategy(POLICY_STRATEGIES[alias.policy], alias.quality_floor)
        reason = f"alias {name}: policy {alias.policy} over {len(entries)} deployment(s)"
        return Resolution(
            name,
            name,
            "alias",
            entries,
            strategy,
            reason,
            frozenset(alias.needs),
            alias.min_context_tokens,
            _has_tiers(entries),
        )


def no_route_error(requested: str, skipped: Sequence[Skip]) -> SwitchyardError:
    """Returns the error for a request no deployment could even be tried for.

    When residency ruled any deployment out the request fails closed with NO_ALLOWED_DEPLOYMENT
    (it is never sent elsewhere); otherwise the error of the candidates that got furthest: open
    circuits and unavailable deployments (503), else the context window (400), else a missing
    capability (400).
    """
    reasons = {skip.reason for skip in skipped}
    causes = "; ".join(f"{s.deployment_id}: {s.detail}" for s in skipped) or "no deployments"
    for reason, what in (
        (E.ERROR_REASON_NO_ALLOWED_DEPLOYMENT, "no deployment allowed for this request's data is available"),
        (E.ERROR_REASON_DEPLOYMENT_UNAVAILABLE, "no deployment is available"),
        (E.ERROR_REASON_CONTEXT_WINDOW_EXCEEDED, "the request does not fit the context window of any deployment"),
        (E.ERROR_REASON_INVALID_REQUEST, "no deployment supports what the request needs"),
    ):
        if reason in reasons:
            return SwitchyardError(reason, f"model '{requested}': {what}: {causes}", param="model")
    return SwitchyardError(E.ERROR_REASON_DEPLOYMENT_UNAVAILABLE, f"model '{requested}': {causes}")


def _with(resolution: Resolution, requested: str, why: str, rule: str, rule_name: str) -> Resolution:
    if resolution.requested == requested and not why:
        return resolution
    reason = "; ".join(r for r in (why, resolution.reason) if r)
    return dataclasses.replace(
        resolution,
        requested=requested,
        reason=reason,
        rule=rule or resolution.rule,
        rule_name=rule_name or resolution.rule_name,
    )


def _has_tiers(entries: Sequence[ModelEntry]) -> bool:
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


def _calibrated(alias: AliasPolicy, complexity: ComplexityModel | None) -> AutoPolicy:
    return AutoPolicy.calibrated(alias, complexity or ComplexityModel.load())


def _check_rule_categories(config: Config) -> None:
    rules = config.switchyard.rules
    if not any(rule.match.category for rule in rules):
        return
    from switchyard.ml.category import CATEGORIES

    for index, rule in enumerate(rules):
        unknown = [c for c in rule.match.category if c not in CATEGORIES]
        if unknown:
            raise ConfigError(
                f"switchyard.rules[{index}].match.category: unknown {unknown}; the classifier's categories are "
                + ", ".join(CATEGORIES)
            )
