"""One request's walk along its chain of groups: plan each group, admit each candidate, call, fail over.

The pipeline prepares a request (analysis, resolution, cache) and hands the walk a `call`; the walk
returns the first success together with its ticket in the shared state (the caller settles it once
the answer is complete), or raises the one error that says why nothing answered:

    calls were made and all failed                 ALL_CANDIDATES_FAILED (429 / 503 / 502 by cause)
    calls were made, all refused the prompt's      the last upstream CONTEXT_WINDOW_EXCEEDED (400); the
      length, the other groups too small for it      route lists every refusal and skip
    no call: every allowed deployment was full     RATE_LIMITED (429, Retry-After)
    no call: filters or circuits left nothing      no_route_error (NO_ALLOWED_DEPLOYMENT fails closed: 403;
                                                     every window too small: CONTEXT_WINDOW_EXCEEDED, 400;
                                                     nothing within the key's reach: PERMISSION_DENIED, 403)
    the request ran out of time                    DEADLINE_EXCEEDED

Each group is planned when reached (fallback groups through `RoutingTable.target`, so the key's
reach, residency, capability and window filters hold for them too: a deployment the key may not use is
a skipped attempt, never a call; scope.py) on a fresh snapshot of the shared state; what to
do after a failed attempt is failover.py's RetryPolicy. A group the window pre-check leaves without a
candidate is no dead end: the walk goes on to its `context_window_fallbacks`, then the rest of the
chain (failover.py says why an upstream's refusal is treated differently).
"""

from __future__ import annotations

import asyncio
import functools
import random
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from switchyard.classifier.v1 import classifier_pb2
from switchyard.common.v1 import chat_pb2, context_pb2, route_pb2
from switchyard.common.v1 import errors_pb2 as E
from switchyard.config import Config, ModelEntry
from switchyard.ml.complexity import ComplexityModel
from switchyard.runtime.errors import SwitchyardError
from switchyard.services.router.failover import (
    CandidateQueue,
    GroupChain,
    Next,
    RetryPolicy,
    all_failed,
    attempt_error,
    rate_limited,
    record_failure,
    record_skip,
    too_long_everywhere,
)
from switchyard.services.router.gate import Gate, Pass, Refusal
from switchyard.services.router.hedging import GroupLatencies, first_answer, hedge_of
from switchyard.services.router.planning import no_route_error
from switchyard.services.router.routing import Resolution, RoutingTable, candidates
from switchyard.services.router.scope import EVERYTHING, Reach
from switchyard.services.router.state import CircuitPolicy, DeploymentLimits
from switchyard.services.router.strategies import Candidate, Plan, RequestFacts, Skip
from switchyard.services.router.strategies.base import prompt_tokens_for

T = TypeVar("T")
# Less time than this left is not worth another attempt: the request has run out of time.
MIN_ATTEMPT_S = 0.1
_WHY = {
    Next.NEXT_GROUP: "group exhausted",
    Next.CONTEXT_WINDOW: "context window exceeded",
    Next.CONTENT_POLICY: "content policy",
    Next.LARGER_WINDOW: "window too small",
}


# The strategies that read a deployment's rate window and in-flight count, and its latency EWMAs.
COUNTING_STRATEGIES = frozenset({"least-busy", "usage-based-routing"})
TIMING_STRATEGIES = frozenset({"latency-based-routing"})


@dataclass(frozen=True)
class Policies:
    """What one config decides for the pipeline: the routing table, the retry and circuit policies, each
    deployment's rate limits, and which deployments' counts and latencies anything reads (gate.py).
    A reload swaps in new policies whole; each request keeps those it began with."""

    table: RoutingTable
    retry: RetryPolicy
    circuit: CircuitPolicy
    limits: Mapping[str, DeploymentLimits]
    counted: frozenset[str] = frozenset()
    timed: frozenset[str] = frozenset()

    @property
    def config(self) -> Config:
        return self.table.config

    @classmethod
    def build(
        cls,
        config: Config,
        complexity: ComplexityModel | None,
        backoff: tuple[float, float],
        rng: random.Random | None = None,
    ) -> Policies:
        """Returns the policies of a config; `complexity` calibrates `auto` aliases with a strong_share."""
        settings = config.router_settings
        table = RoutingTable.build(config, complexity, rng)
        limits = {entry.deployment_id: DeploymentLimits.of(entry) for entry in config.model_list}
        ranked_by = table.strategies_by_deployment()
        limited = {d for d, lim in limits.items() if lim.rpm_limit is not None or lim.tpm_limit is not None}
        return cls(
            table,
            RetryPolicy.from_settings(settings, *backoff),
            CircuitPolicy(settings.allowed_fails, settings.cooldown_time),
            limits,
            frozenset(limited | {d for d, names in ranked_by.items() if names & COUNTING_STRATEGIES}),
            frozenset(d for d, names in ranked_by.items() if names & TIMING_STRATEGIES),
        )

    def limits_of(self, entry: ModelEntry) -> DeploymentLimits:
        return self.limits.get(entry.deployment_id) or DeploymentLimits.of(entry)

    async def admit(self, gate: Gate, entry: ModelEntry, tokens: int) -> Pass | Refusal:
        """Asks the gate for leave to call a deployment, saying what of its outcome is read."""
        deployment_id = entry.deployment_id
        counted, timed = deployment_id in self.counted, deployment_id in self.timed
        return await gate.admit(self.limits_of(entry), tokens, counted=counted, timed=timed)


@dataclass
class Prepared:
    """A request ready to route: what it resolved to, and what its walk has found so far."""

    policies: Policies
    request: chat_pb2.ChatRequest
    context: context_pb2.RequestContext
    route: route_pb2.RouteRecord
    facts: RequestFacts
    resolution: Resolution
    analysis: classifier_pb2.AnalyzeResponse | None
    hit: chat_pb2.ChatCompletion | None
    store: bool
    retry_after: float | None = None
    calls: int = 0
    rate_refused: int = 0
    # skips: candidates passed over for a reason other than a full rate window.
    skips: list[Skip] = field(default_factory=list)
    # reach: the deployments the key may send this request to (scope.py); every one by default.
    reach: Reach = EVERYTHING
    # reachable: the deployments within reach of the whole chain, target and fallbacks (the budget estimate's).
    reachable: tuple[ModelEntry, ...] = ()
    # hit_deployment: the deployment that produced the cached answer `hit` ("" when not recorded).
    hit_deployment: str = ""

    def wait_at_least(self, seconds: float | None) -> None:
        """Keeps the shortest wait any cause asked for, for the error's Retry-After."""
        if seconds is not None:
            self.retry_after = seconds if self.retry_after is None else min(self.retry_after, seconds)


@dataclass
class Answer(Generic[T]):
    """A successful call: the deployment, what the call returned, its pass (to settle) and its attempt."""

    entry: ModelEntry
    result: T
    admitted: Pass
    attempt: route_pb2.Attempt
    started: float


@dataclass(frozen=True)
class _GroupEnd:
    """A group that did not answer: where the walk goes next, and the error that sent it there."""

    next: Next
    error: SwitchyardError | None = None


@dataclass
class _GroupRun:
    """One group's attempts: its candidates still to try and how often each deployment failed."""

    group: str
    plan: Plan
    queue: CandidateQueue[Candidate]
    failures: dict[str, int] = field(default_factory=dict)
    count: int = 0


Call = Callable[[ModelEntry, float], Awaitable[T]]
# Frees what an answer holds (a stream's upstream call) when a hedge that answered is not used.
Discard = Callable[[T], Awaitable[None]]


async def keep(result: object) -> None:
    """Frees nothing: for answers that hold no resource of their own."""


class Walk(Generic[T]):
    """Tries a prepared request's candidates, group after group, until one answers."""

    def __init__(
        self,
        prep: Prepared,
        gate: Gate,
        call: Call[T],
        *,
        unavailable: Mapping[str, str],
        deadline: float,
        rng: random.Random,
        latencies: GroupLatencies | None = None,
        discard: Discard[T] = keep,
    ) -> None:
        """latencies: the groups' observed latencies hedging reads (None: no hedging); discard frees what a
        call's answer holds when a hedged attempt answered but lost (a stream's upstream call)."""
        self._prep, self._gate, self._unavailable = prep, gate, unavailable
        self._deadline, self._rng, self._call_one = deadline, rng, call
        self._latencies, self._discard = latencies, discard
        facts = prep.facts
        self._output = facts.max_output_tokens or prep.policies.config.switchyard.routing.expected_output_tokens
        # The latest upstream refusal of the prompt's length: what the client gets if the window is all
        # that kept every deployment from answering.
        self._too_long: SwitchyardError | None = None

    async def run(self) -> Answer[T]:
        """Returns the first successful call along the chain of groups, retrying and failing over as configured."""
        prep = self._prep
        resolution = prep.resolution
        chain = GroupChain(prep.policies.table.fallback_tables, resolution.target, resolution.requested)
        previous: tuple[str, Next] | None = None
        while (group := chain.next()) is not None:
            run = self._plan(group)
            prep.route.groups_tried.append(group)
            _explain(prep.route, run, previous)
            outcome = await self._try_group(run, lambda: self._fallback_ready(chain))
            if isinstance(outcome, Answer):
                prep.route.score, prep.route.strategy = run.plan.score, run.plan.strategy
                return outcome
            self._turn(chain, group, outcome)
            previous = (group, outcome.next)
        raise self._nothing_answered()

    def _turn(self, chain: GroupChain, group: str, end: _GroupEnd) -> None:
        """Points the chain where a spent group sends the request; raises the group's error when that is nowhere."""
        if end.next is Next.LARGER_WINDOW:
            chain.widen(group)
            return
        if end.next not in (Next.CONTEXT_WINDOW, Next.CONTENT_POLICY):
            return
        assert end.error is not None
        if end.next is Next.CONTEXT_WINDOW:
            self._too_long = end.error
        if not chain.switch(end.next, group):
            end.error.route = self._prep.route
            raise end.error

    def _plan(self, group: str) -> _GroupRun:
        """Plans one group (a fallback group too) on a fresh snapshot, recording the candidates it leaves out."""
        prep = self._prep
        policies, facts = prep.policies, prep.facts
        target = prep.resolution if group == prep.resolution.target else policies.table.target(group)
        entries = self._within_reach(target.entries, group)
        stats = self._gate.snapshot([policies.limits_of(entry) for entry in entries])
        plan = policies.table.plan(target, candidates(entries, stats), facts, self._unavailable)
        if plan.skipped:
            by_id = {entry.deployment_id: entry for entry in entries}
            for skip in plan.skipped:
                record_skip(prep.route, by_id[skip.deployment_id], group, skip.reason, skip.detail)
            prep.skips.extend(plan.skipped)
        return _GroupRun(group, plan, CandidateQueue(plan.order))

    def _within_reach(self, entries: tuple[ModelEntry, ...], group: str) -> tuple[ModelEntry, ...]:
        """Returns the deployments of a group the key may use; each other one is a skipped attempt."""
        prep = self._prep
        reach = prep.reach
        if reach.everything:
            return entries
        allowed = reach.within(entries)
        if len(allowed) < len(entries):
            why = reach.refusal(group)
            for entry in entries:
                if not reach.allows(entry):
                    record_skip(prep.route, entry, group, E.ERROR_REASON_PERMISSION_DENIED, why)
                    prep.skips.append(Skip(entry.deployment_id, E.ERROR_REASON_PERMISSION_DENIED, why))
        return allowed

    def _fallback_ready(self, chain: GroupChain) -> bool:
        """Returns whether a group left in the chain has a deployment to call now (its filters and
        circuits as a plan would see them; nothing is recorded)."""
        prep = self._prep
        policies = prep.policies
        for group in chain.upcoming():
            target = policies.table.target(group)
            entries = prep.reach.within(target.entries)
            stats = self._gate.snapshot([policies.limits_of(entry) for entry in entries])
            if policies.table.plan(target, candidates(entries, stats), prep.facts, self._unavailable).order:
                return True
        return False

    async def _try_group(self, run: _GroupRun, fallback_ready: Callable[[], bool]) -> Answer[T] | _GroupEnd:
        """Returns the first success among one group's candidates, or where to go once the group is spent
        (or its next retry would wait longer than max_retry_wait_s while a fallback group is left)."""
        prep = self._prep
        policy = prep.policies.retry
        if not run.plan.order and too_long_everywhere(skip.reason for skip in run.plan.skipped):
            return _GroupEnd(Next.LARGER_WINDOW)
        while (when := run.queue.peek_time()) is not None:
            wait = max(0.0, when - time.monotonic())
            if time.monotonic() + wait + MIN_ATTEMPT_S > self._deadline:
                break  # the next retry could not start in time; later groups may still answer at once
            if wait > policy.max_wait and fallback_ready():
                break  # a fallback group can take the request now
            candidate, backoff = run.queue.pop()
            entry = candidate.entry
            if wait:
                await asyncio.sleep(wait)
            admitted = await prep.policies.admit(self._gate, entry, self._tokens(entry))
            if isinstance(admitted, Refusal):
                self._refused(entry, run.group, admitted)
                continue
            try:
                return await self._attempt(run, entry, admitted, backoff)
            except SwitchyardError as err:
                run.count += 1
                after = policy.after_failure(err.reason, run.count)
                prep.route.attempts[-1].error_class = after.error_class or ""
                if after.next is Next.STOP:
                    err.route = prep.route
                    raise
                if after.next is not Next.SAME_GROUP:
                    return _GroupEnd(after.next, err)
                if after.again:
                    retry = run.failures[entry.deployment_id] = run.failures.get(entry.deployment_id, 0) + 1
                    delay = policy.backoff(retry - 1, err.retry_after_s, self._rng)
                    run.queue.again(candidate, time.monotonic(), delay)
        return _GroupEnd(Next.NEXT_GROUP)

    async def _attempt(self, run: _GroupRun, entry: ModelEntry, admitted: Pass, backoff: float) -> Answer[T]:
        """Returns a candidate's answer; in a hedged group, the first answer of it and the hedges it gets."""
        call = self._call(entry, admitted, group=run.group, backoff=backoff)
        hedge = hedge_of(self._prep.policies.config, run.group) if self._latencies is not None else None
        if hedge is None or self._latencies is None:
            return await call
        delay = self._latencies.delay(hedge, run.group)
        if delay is None:
            answer = await call
        else:
            hedges = functools.partial(self._hedge, run, entry)
            answer = await first_answer(run.group, call, hedges, delay=delay, extra=hedge.max, discard=self._lost)
        self._latencies.observe(run.group, time.monotonic() - answer.started)
        return answer

    async def _hedge(self, run: _GroupRun, first: ModelEntry) -> Coroutine[Any, Any, Answer[T]] | None:
        """Returns the call of the group's next candidate when it can be called now on another deployment
        than first, else None."""
        when = run.queue.peek_time()
        if when is None or when > time.monotonic():
            return None
        candidate, backoff = run.queue.pop()
        entry = candidate.entry
        if entry.deployment_id == first.deployment_id:
            run.queue.again(candidate, time.monotonic(), backoff)
            return None
        admitted = await self._prep.policies.admit(self._gate, entry, self._tokens(entry))
        if isinstance(admitted, Refusal):
            self._refused(entry, run.group, admitted)
            return None
        return self._call(entry, admitted, group=run.group, backoff=backoff)

    async def _lost(self, answer: Answer[T]) -> None:
        """Frees a hedged attempt that answered after another had won: its pass, and what its answer holds."""
        self._gate.release(answer.admitted)
        await self._discard(answer.result)

    def _tokens(self, entry: ModelEntry) -> int:
        """Returns the tokens a call is expected to use: the prompt (in the deployment's tokens) and the output."""
        return prompt_tokens_for(entry, self._prep.facts) + self._output

    def _refused(self, entry: ModelEntry, group: str, refusal: Refusal) -> None:
        prep = self._prep
        record_skip(prep.route, entry, group, refusal.reason, refusal.detail)
        if refusal.rate:
            prep.rate_refused += 1
            prep.wait_at_least(refusal.retry_after_s)
        else:
            prep.skips.append(Skip(entry.deployment_id, refusal.reason, refusal.detail))

    async def _call(self, entry: ModelEntry, admitted: Pass, *, group: str, backoff: float) -> Answer[T]:
        """Returns one call's answer, recording the attempt and settling its pass on failure; raises its error."""
        prep = self._prep
        settings = prep.policies.config.router_settings
        timeout = min(entry.litellm_params.timeout or settings.timeout, self._deadline - time.monotonic())
        prep.calls += 1
        attempt = prep.route.attempts.add(
            number=prep.calls,
            deployment_id=entry.deployment_id,
            provider=entry.provider,
            model=entry.upstream_model,
            group=group,
            backoff_ms=backoff * 1000,
        )
        started = time.monotonic()
        try:
            result = await self._call_one(entry, timeout)
        except (SwitchyardError, TimeoutError) as raw:
            err = attempt_error(raw, self._deadline, time.monotonic())
            attempt.latency_ms = (time.monotonic() - started) * 1000
            record_failure(attempt, err)
            prep.wait_at_least(err.retry_after_s)
            await self._gate.failed(admitted, err, prep.policies.circuit)
            if err.reason == E.ERROR_REASON_DEADLINE_EXCEEDED:
                raise deadline_error(prep) from None
            raise err from None
        except BaseException as exc:
            if isinstance(exc, asyncio.CancelledError):
                # A hedge that lost, or a client that went away: the call was abandoned, not failed.
                attempt.latency_ms = (time.monotonic() - started) * 1000
                attempt.error_class = "Cancelled"
            self._gate.release(admitted)
            raise
        attempt.latency_ms = (time.monotonic() - started) * 1000
        attempt.outcome = route_pb2.ATTEMPT_OUTCOME_SUCCESS
        return Answer(entry, result, admitted, attempt, started)

    def _nothing_answered(self) -> SwitchyardError:
        prep = self._prep
        if self._deadline - time.monotonic() <= MIN_ATTEMPT_S:
            return deadline_error(prep)
        requested = prep.request.model
        if prep.calls == 0 and prep.rate_refused:
            return rate_limited(prep.route, requested, prep.retry_after)
        if prep.calls == 0 and prep.skips:
            error = no_route_error(requested, prep.skips)
            error.route = prep.route
            return error
        too_long = self._too_long
        if too_long is not None and too_long_everywhere(a.error_reason for a in prep.route.attempts):
            # An upstream refused the prompt and every other group was too small for it: no outage to
            # report (502), the client's prompt is too long.
            too_long.route = prep.route
            return too_long
        return all_failed(prep.route, requested, prep.retry_after)


def deadline_error(prep: Prepared) -> SwitchyardError:
    return SwitchyardError(
        E.ERROR_REASON_DEADLINE_EXCEEDED,
        f"the request to model '{prep.request.model}' ran out of time after {prep.calls} attempt(s)",
        route=prep.route,
    )


def _explain(route: route_pb2.RouteRecord, run: _GroupRun, previous: tuple[str, Next] | None) -> None:
    """Adds why a group is planned and how to the route's reason."""
    if previous is None:
        route.reason = f"{route.reason}; {run.plan.reason}" if route.reason else run.plan.reason
        return
    group, why = previous
    route.reason = f"{route.reason}; {group} {_WHY.get(why, why.value)} -> {run.group}: {run.plan.reason}"
