"""The routing table: from the model a client asked for to a ranked, explained plan of deployments.

Built once per config (a hot reload builds a new table and swaps it in); every call after that is
pure and does no I/O. How the pipeline uses it (switchyard/services/router/walk.py):

    table = RoutingTable.build(config)                   # at start-up and on each reload
    facts = facts_of(request, context, analysis)         # switchyard/services/router/facts.py
    resolution = table.resolve(request.model, facts)     # raises MODEL_NOT_FOUND for unknown names
    chain = GroupChain(table.fallback_tables, resolution.target, resolution.requested)
    while (group := chain.next()) is not None:           # the target, then its fallbacks
        target = resolution if group == resolution.target else table.target(group)
        plan = table.plan(target, candidates(target.entries, state.snapshot(limits)), facts, unavailable)
        ...try plan.order in turn; plan.skipped become SKIPPED attempts in the route record...
        ...an empty plan whose skips are windows too small: chain.widen(group), context_window_fallbacks next...
    if no deployment was even tried:
        raise no_route_error(resolution.requested, skipped)   # planning.py
    if resolution.shadow is not None:                    # planned the same way, called in the background:
        ...                                              # its answer recorded, never returned

Fallback groups are planned with the same `facts`, so residency, capability and window filters hold
for them exactly as for the first group: a request whose data may not leave the EU fails closed
with NO_ALLOWED_DEPLOYMENT rather than falling back to a deployment elsewhere.

Aliases are policies over a pool of deployments, each ranked by one strategy: `cheap` by
cost-based-routing, `fast` by latency-based-routing, `auto` by cost-quality (with the alias's
quality floor, or its strong_share calibrated by the complexity model: strategies/quality.py).
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from switchyard.common.v1 import errors_pb2 as E
from switchyard.config import AliasPolicy, Config, ConfigError, ContentRule, ModelEntry, alias_pool
from switchyard.ml.complexity import ComplexityModel
from switchyard.runtime.errors import SwitchyardError
from switchyard.services.router.experiments import assign, wants_shadow
from switchyard.services.router.failover import FallbackTables, reachable_groups
from switchyard.services.router.planning import Planner, has_tiers
from switchyard.services.router.rules import describe, first_match
from switchyard.services.router.scope import Reach, reach_of
from switchyard.services.router.strategies import (
    Candidate,
    DeploymentStats,
    Plan,
    RequestFacts,
    ShareRule,
    Strategy,
    StrategyOptions,
)
from switchyard.services.router.strategies import lookup as lookup_strategy

# The strategy each alias policy ranks its pool with.
POLICY_STRATEGIES: dict[str, str] = {
    "cheap": "cost-based-routing",
    "fast": "latency-based-routing",
    "auto": "cost-quality",
}


@dataclass(frozen=True)
class Resolution:
    """Where a request is routed: the group or alias pool, its strategy, and why."""

    requested: str
    # target: the group or alias whose deployments are planned.
    target: str
    entries: tuple[ModelEntry, ...]
    strategy: Strategy
    reason: str
    needs: frozenset[str] = frozenset()
    min_context_tokens: int = 0
    # tiered: whether the entries are ranked within `order` priority tiers.
    tiered: bool = False
    # rule: the content rule that rerouted the request, by name ("#2" when it has none).
    rule: str = ""
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
        self._complexity = complexity
        switchyard = config.switchyard
        routing = switchyard.routing
        self._planner = Planner(config, rng)
        self._options = StrategyOptions(
            rng=rng,
            exploration_rate=routing.exploration_rate,
            expected_output_tokens=routing.expected_output_tokens,
            quality_floor=routing.quality_floor,
            length_midpoint_tokens=routing.length_midpoint_tokens,
        )
        self._groups = {name: self._group(name, entries) for name, entries in config.groups().items()}
        self._aliases = {name: self._pool(name, alias) for name, alias in switchyard.aliases.items()}
        self._fallbacks = FallbackTables.from_settings(config.router_settings)
        self._deployments = {entry.deployment_id: entry for entry in config.model_list}
        # The deployments each name stands for: what a key allowed that name may reach (scope.py).
        self._members = {
            name: frozenset(entry.deployment_id for entry in resolution.entries)
            for name, resolution in (*self._groups.items(), *self._aliases.items())
        }
        self._experiments = dict(switchyard.experiments.items())
        self._by_model = {e.model: name for name, e in self._experiments.items()}
        rules = list(enumerate(switchyard.rules))
        self._rules: dict[str, list[tuple[int, ContentRule]]] = {
            name: [(i, rule) for i, rule in rules if not rule.models or name in rule.models]
            for name in [*self._groups, *self._aliases, *self._by_model]
        }

    @classmethod
    def build(
        cls, config: Config, complexity: ComplexityModel | None = None, rng: random.Random | None = None
    ) -> RoutingTable:
        """Returns the table of a config; `auto` aliases with a strong_share are calibrated with the
        complexity model (the packaged one unless given). Raises ConfigError for what pydantic cannot see."""
        _check_rule_categories(config)
        return cls(config, complexity, rng or random.Random())

    # ------------------------------------------------------------------ names

    def names(self) -> list[tuple[str, str]]:
        """Returns (name, kind) of every name a client may ask for: groups, then aliases and experiments."""
        result = [(name, "group") for name in self._groups]
        result += [(name, "alias") for name in self._aliases]
        known = {name for name, _ in result}
        result += [(model, "alias") for model in self._by_model if model not in known]
        return result

    @property
    def config(self) -> Config:
        """Returns the config this table was built from."""
        return self._config

    @property
    def fallback_tables(self) -> FallbackTables:
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
        """Returns the target a name always resolves to, whatever the request says (a group or alias no
        content rule or experiment applies to), or None when the analysis may change it."""
        if self._rules.get(name) or name in self._by_model:
            return None
        return name if self._knows(name) else None

    def knows(self, name: str) -> bool:
        """Returns whether a client may ask for `name` (a group, an alias or an experiment's model)."""
        return self._knows(name) or name in self._by_model

    def reach(self, allowed: Sequence[Sequence[str]], holder: str) -> Reach:
        """Returns the deployments a request may be sent to when its key and team allow these names."""
        return reach_of(self._members, allowed, holder)

    def reachable(self, resolution: Resolution, reach: Reach) -> tuple[ModelEntry, ...]:
        """Returns every deployment within reach the request could be sent to: its target's, and those of
        every fallback group of any kind its walk could plan (what its budget estimate is priced at)."""
        found: dict[str, ModelEntry] = {}
        for group in reachable_groups(self._fallbacks, resolution.target, resolution.requested):
            if group == resolution.target:
                entries: Sequence[ModelEntry] = resolution.entries
            elif self._knows(group):
                entries = self.target(group).entries
            else:
                continue
            found.update((entry.deployment_id, entry) for entry in reach.within(entries))
        return tuple(found.values())

    def deployment(self, deployment_id: str) -> ModelEntry | None:
        """Returns the configured deployment with this id, None when there is none."""
        return self._deployments.get(deployment_id)

    def data_problem(self, entry: ModelEntry, facts: RequestFacts) -> str | None:
        """Returns why the request's data may not go to (or come from) a deployment, None when it may."""
        return self._planner.data_problem(entry, facts)

    # ------------------------------------------------------------------ resolve

    def resolve(self, requested: str, facts: RequestFacts) -> Resolution:
        """Returns where a request for `requested` is routed: content rules, then an experiment's arm,
        then the alias or group. Raises MODEL_NOT_FOUND for a name nobody configured."""
        if not self.knows(requested):
            raise SwitchyardError(
                E.ERROR_REASON_MODEL_NOT_FOUND,
                f"The model `{requested}` does not exist or you do not have access to it.",
                param="model",
            )
        name, why, rule = requested, "", ""
        found = first_match(self._rules.get(requested, ()), facts)
        if found is not None:
            index, matched = found
            name, rule = matched.route_to, matched.name or f"#{index}"
            why = f"{describe(index, matched)} ({facts.category or 'match'}) -> {name}"
        experiment = self._by_model.get(name)
        resolution = self.target(name) if experiment is None else self._experiment(experiment, name, facts)
        return _with(resolution, requested, why, rule)

    def _knows(self, name: str) -> bool:
        return name in self._groups or name in self._aliases

    def target(self, name: str) -> Resolution:
        """Returns the resolution of a group or alias name alone (no rules, no experiments): for fallbacks."""
        resolution = self._groups.get(name) or self._aliases.get(name)
        if resolution is None:
            raise SwitchyardError(E.ERROR_REASON_MODEL_NOT_FOUND, f"no model group or alias is named `{name}`")
        return resolution

    def _experiment(self, name: str, model: str, facts: RequestFacts) -> Resolution:
        """Returns the resolution of an experiment's model: its arm's target, and its shadow copy when drawn."""
        experiment = self._experiments[name]
        if experiment.arms:
            assignment = assign(name, experiment, facts, self._rng)
            arm = assignment.arm
            resolution = self.target(arm.group)
            reason = f"experiment {name}: arm {arm.name} ({assignment.key_kind}) -> {arm.group}"
            resolution = dataclasses.replace(resolution, experiment=name, arm=arm.name)
        else:
            resolution, reason = dataclasses.replace(self.target(model), experiment=name), ""
        shadow = experiment.shadow
        if shadow is not None and shadow.group != resolution.target and wants_shadow(experiment, self._rng):
            resolution = dataclasses.replace(resolution, shadow=self.target(shadow.group))
            reason = f"{reason}; shadow copy to {shadow.group}" if reason else f"shadow copy to {shadow.group}"
        return _with(resolution, resolution.requested, reason, "")

    # ------------------------------------------------------------------ plan

    def plan(
        self,
        target: Resolution,
        candidates: Sequence[Candidate],
        facts: RequestFacts,
        unavailable: Mapping[str, str] | None = None,
    ) -> Plan:
        """Returns the ranked plan over the candidates of a target, with the capabilities it always needs
        added to the facts (planning.py says how)."""
        facts = target.facts_for(facts)
        return self._planner.plan(target.strategy, target.tiered, candidates, facts, unavailable or {})

    # ------------------------------------------------------------------ build helpers

    def _strategy(self, name: str, floor: float | None = None, share: ShareRule | None = None) -> Strategy:
        options = self._options
        if floor is not None:
            options = dataclasses.replace(options, quality_floor=floor)
        if share is not None:
            options = dataclasses.replace(options, share=share)
        strategy = lookup_strategy(name, options)
        if strategy is None:
            raise ConfigError(f"routing strategy {name!r} is not available")
        return strategy

    def _group(self, name: str, entries: list[ModelEntry]) -> Resolution:
        settings = self._config.switchyard.groups.get(name)
        strategy_name = (settings and settings.routing_strategy) or self._config.router_settings.routing_strategy
        strategy = self._strategy(strategy_name, settings.quality_floor if settings else None)
        return Resolution(name, name, tuple(entries), strategy, "", tiered=has_tiers(entries))

    def _pool(self, name: str, alias: AliasPolicy) -> Resolution:
        entries = tuple(alias_pool(self._config.model_list, alias))
        share = self._share_rule(alias)
        strategy = self._strategy(POLICY_STRATEGIES[alias.policy], alias.quality_floor, share)
        rule = f" with strong_share {alias.strong_share:g}" if share is not None else ""
        return Resolution(
            name,
            name,
            entries,
            strategy,
            f"alias {name}: policy {alias.policy}{rule} over {len(entries)} deployment(s)",
            needs=frozenset(alias.needs),
            min_context_tokens=alias.min_context_tokens,
            # The strong_share rule reads the pool cheap to strong itself, `order` only within a group.
            tiered=share is None and has_tiers(entries),
        )

    def _share_rule(self, alias: AliasPolicy) -> ShareRule | None:
        """Returns the strong_share rule of an `auto` alias with the threshold calibrated for it, else None."""
        if alias.strong_share is None:
            return None
        self._complexity = self._complexity or ComplexityModel.load()
        threshold = self._complexity.threshold_for_share(alias.strong_share)
        return ShareRule(alias.strong_share, threshold, tuple(alias.groups))


def _with(resolution: Resolution, requested: str, why: str, rule: str) -> Resolution:
    if resolution.requested == requested and not why:
        return resolution
    reason = "; ".join(r for r in (why, resolution.reason) if r)
    return dataclasses.replace(resolution, requested=requested, reason=reason, rule=rule or resolution.rule)


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
