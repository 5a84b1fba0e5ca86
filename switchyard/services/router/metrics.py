"""The router's Prometheus metrics: requests, latency, tokens, cost, cache, failovers, budgets, circuits.

Per request, the pipeline hands the ledger record and the route record to `observe_request`; the
budget code reports each budget's use with `set_budget_use` and each 80 % / 100 % alert with
`budget_alert`. Circuits, rate-limit use and whether the shared state (Redis) is reachable are read
at scrape time from the router's local mirror of the shared state (`watch_state`, at router start).

Labels are config names and enums; the client-chosen ones (alias, feature, team, app, budget ids)
are bounded, and no request id or key secret ever becomes a label (a key appears as its prefix).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily

from switchyard.common.v1 import route_pb2
from switchyard.router.v1 import admin_pb2
from switchyard.runtime.errors import reason_name
from switchyard.runtime.metrics import LATENCY_BUCKETS_S, REGISTRY, TTFT_BUCKETS_S, Bounded, LoopCollector, label

if TYPE_CHECKING:
    from switchyard.services.router.state import RouterState
    from switchyard.services.router.walk import Policies

# Circuit states as gauge values: alert on == 2.
CIRCUIT_VALUES = {"closed": 0.0, "half_open": 1.0, "open": 2.0}
# How long a scrape waits for the router's event loop to read the shared-state mirror.

_alias, _model, _team, _app, _feature = Bounded(200), Bounded(200), Bounded(500), Bounded(200), Bounded(100)
_budget_id = Bounded(1000)
_group = Bounded(200)

REQUESTS = Counter(
    "switchyard_router_requests_total",
    "Chat requests the router finished, by requested alias, answering provider and model, status and streaming.",
    ["alias", "provider", "model", "status", "stream"],
    registry=REGISTRY,
)
DURATION = Histogram(
    "switchyard_router_request_duration_seconds",
    "Whole-request latency at the router (all attempts), by answering provider and model.",
    ["provider", "model"],
    buckets=LATENCY_BUCKETS_S,
    registry=REGISTRY,
)
TTFT = Histogram(
    "switchyard_router_time_to_first_token_seconds",
    "Time from a streamed request's arrival to its first token, by answering provider and model.",
    ["provider", "model"],
    buckets=TTFT_BUCKETS_S,
    registry=REGISTRY,
)
TOKENS = Counter(
    "switchyard_router_tokens_total",
    "Tokens the upstream providers reported, by provider, model and kind (prompt or completion).",
    ["provider", "model", "kind"],
    registry=REGISTRY,
)
COST = Counter(
    "switchyard_router_cost_usd_total",
    "Cost of answered requests in US dollars, by model, team, app and feature tag.",
    ["model", "team", "app", "feature"],
    registry=REGISTRY,
)
CACHE_RESULTS = Counter(
    "switchyard_router_cache_results_total",
    "What the cache did for each request: hit, miss, bypass or error.",
    ["result"],
    registry=REGISTRY,
)
CACHE_SAVED = Counter(
    "switchyard_router_cache_saved_usd_total",
    "What cache hits saved in US dollars (the cost of the answers they replayed), by requested alias.",
    ["alias"],
    registry=REGISTRY,
)
EVALUATION_SAMPLES = Counter(
    "switchyard_evaluation_samples",
    "Completed requests offered to the evaluator, by outcome (sent, dropped: queue full or the evaluator unreachable).",
    ["outcome"],
    registry=REGISTRY,
)
HEDGES = Counter(
    "switchyard_router_hedges_total",
    "Hedged attempts by group and outcome: fired (another deployment was called beside a slow first attempt) "
    "and won (that attempt answered first).",
    ["group", "outcome"],
    registry=REGISTRY,
)
FAILOVERS = Counter(
    "switchyard_router_failovers_total",
    "Failed attempts the router moved on from (or gave up after), by error class of the failure.",
    ["cause"],
    registry=REGISTRY,
)
BUDGET_SPENT = Gauge(
    "switchyard_router_budget_spent_usd",
    "Spend in the budget's current window in US dollars (settled requests).",
    ["scope", "id", "window"],
    registry=REGISTRY,
)
BUDGET_RESERVED = Gauge(
    "switchyard_router_budget_reserved_usd",
    "Estimated cost of requests in flight held against the budget's current window, in US dollars.",
    ["scope", "id", "window"],
    registry=REGISTRY,
)
BUDGET_HARD = Gauge(
    "switchyard_router_budget_hard_cap_usd",
    "The budget's hard cap in US dollars (requests are refused past it); 0 when it has none.",
    ["scope", "id", "window"],
    registry=REGISTRY,
)
BUDGET_SOFT = Gauge(
    "switchyard_router_budget_soft_cap_usd",
    "The budget's soft cap in US dollars (alerts only); 0 when it has none.",
    ["scope", "id", "window"],
    registry=REGISTRY,
)
BUDGET_ALERTS = Counter(
    "switchyard_router_budget_alerts_total",
    "Budget alerts raised, by scope, id, window and level (80 or 100 percent).",
    ["scope", "id", "window", "level"],
    registry=REGISTRY,
)


def observe_request(record: admin_pb2.LedgerRecord, route: route_pb2.RouteRecord | None) -> None:
    """Counts one finished request (answered, replayed from the cache or failed) from its ledger record."""
    provider, model = label(record.provider), _model(record.model)
    stream = "true" if record.stream else "false"
    REQUESTS.labels(_alias(record.alias), provider, model, label(record.status), stream).inc()
    DURATION.labels(provider, model).observe(record.latency_ms / 1000)
    if record.stream and record.ttft_ms > 0:
        TTFT.labels(provider, model).observe(record.ttft_ms / 1000)
    if record.prompt_tokens > 0:
        TOKENS.labels(provider, model, "prompt").inc(record.prompt_tokens)
    if record.completion_tokens > 0:
        TOKENS.labels(provider, model, "completion").inc(record.completion_tokens)
    if record.cost_usd > 0:
        COST.labels(model, _team(record.team), _app(record.app), _feature(record.feature)).inc(record.cost_usd)
    if record.cache:
        CACHE_RESULTS.labels(label(record.cache)).inc()
    if record.saved_usd > 0:
        CACHE_SAVED.labels(_alias(record.alias)).inc(record.saved_usd)
    if route is not None:
        for cause in failover_causes(route.attempts):
            FAILOVERS.labels(cause).inc()


def failover_causes(attempts: Iterable[route_pb2.Attempt]) -> Iterator[str]:
    """Yields the error class of each failed attempt (its error reason's name when it has no class)."""
    for attempt in attempts:
        if attempt.outcome == route_pb2.ATTEMPT_OUTCOME_FAILED:
            yield attempt.error_class or reason_name(attempt.error_reason)


def set_budget_use(use: admin_pb2.BudgetUse) -> None:
    """Publishes one budget's spend, reservations and caps in its current window."""
    labels = (use.scope, _budget_id(use.id), use.window)
    BUDGET_SPENT.labels(*labels).set(use.spent_usd)
    BUDGET_RESERVED.labels(*labels).set(use.reserved_usd)
    BUDGET_HARD.labels(*labels).set(use.hard_usd)
    BUDGET_SOFT.labels(*labels).set(use.soft_usd)


def budget_alert(scope: str, ident: str, window: str, level: str) -> None:
    """Counts one budget alert; level is "80" or "100" (percent of the cap reached)."""
    BUDGET_ALERTS.labels(scope, _budget_id(ident), window, level).inc()


def _families() -> list[GaugeMetricFamily]:
    return [
        GaugeMetricFamily(
            "switchyard_router_circuit_state",
            "Circuit of each deployment: 0 closed, 1 half-open (one probe allowed), 2 open (cooling down).",
            labels=["deployment", "group", "provider"],
        ),
        GaugeMetricFamily(
            "switchyard_router_rate_limit_utilization_ratio",
            "Share of a deployment's configured per-minute limit (rpm or tpm) used in the current window.",
            labels=["deployment", "group", "limit"],
        ),
        GaugeMetricFamily(
            "switchyard_router_in_flight_requests",
            "Requests a deployment is answering now, across router replicas (counted deployments only).",
            labels=["deployment", "group"],
        ),
        GaugeMetricFamily(
            "switchyard_shared_state_up",
            "1 while the router reaches its shared state (Redis, or in-memory state), 0 while it serves locally.",
        ),
    ]


def _read(state: RouterState, current: Callable[[], Policies]) -> list[GaugeMetricFamily]:
    """Returns circuits, rate-limit use, in-flight counts and shared-state reachability from the state's
    local mirror (which belongs to the router's event loop, where scrapes read it)."""
    circuit, utilization, in_flight, up = _families()
    policies = current()
    entries = policies.config.model_list
    stats = state.snapshot([policies.limits_of(entry) for entry in entries])
    for entry in entries:
        deployment, group = entry.deployment_id, entry.model_name
        found = stats.get(deployment)
        if found is None:
            continue
        circuit.add_metric([deployment, group, label(entry.provider)], CIRCUIT_VALUES[found.circuit])
        if found.rpm_limit:
            utilization.add_metric([deployment, group, "rpm"], found.rpm_used / found.rpm_limit)
        if found.tpm_limit:
            utilization.add_metric([deployment, group, "tpm"], found.tpm_used / found.tpm_limit)
        if deployment in policies.counted:
            in_flight.add_metric([deployment, group], float(found.in_flight))
    up.add_metric([], 0.0 if state.degraded else 1.0)
    return [circuit, utilization, in_flight, up]


_COLLECTOR = LoopCollector(_families)
REGISTRY.register(_COLLECTOR)


def watch_state(state: RouterState, policies: Callable[[], Policies]) -> None:
    """Makes scrapes read this router's shared state (call once at start, on the router's event loop)."""
    _COLLECTOR.watch(lambda: _read(state, policies))


def hedged(group: str, outcome: str) -> None:
    """Counts a hedge of a group: `fired` when another attempt starts, `won` when it answers first."""
    HEDGES.labels(_group(group), outcome).inc()
