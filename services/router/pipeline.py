"""The request pipeline: analyse, look up the cache, plan a route, call providers with failover, store.

This is the one place that sequences a request (DESIGN §1). It talks to its peers through the
clients in `peers.py`, so it never sees gRPC; every failure it raises is a SwitchyardError that
carries the RouteRecord of what was tried. What to do after a failed attempt (retry, next
deployment, next group, stop) and how long to wait is decided by `failover.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from switchyard.cache.v1 import cache_pb2
from switchyard.classifier.v1 import classifier_pb2
from switchyard.common.v1 import chat_pb2, context_pb2, route_pb2
from switchyard.common.v1 import errors_pb2 as E
from switchyard.providers.v1 import providers_pb2
from switchyard.router.v1 import router_pb2

from services.classifier.models.complexity import ComplexityModel
from services.common.config import Config, ModelEntry
from services.common.errors import SwitchyardError
from services.router.aliases import AutoPolicy
from services.router.failover import (
    CandidateQueue,
    ErrorClass,
    Fallbacks,
    GroupChain,
    Next,
    RetryPolicy,
    all_failed,
    attempt_error,
    record_failure,
    record_skip,
)
from services.router.peers import Cache, Classifier, Providers
from services.router.replay import assemble, first_token, replay
from services.router.strategies import Candidate, Plan, RequestFacts, Strategy, lookup
from services.router.strategies.shuffle import SimpleShuffle

log = logging.getLogger(__name__)
T = TypeVar("T")
StreamMessage = providers_pb2.StreamGenerateResponse
Upstream = AsyncGenerator[StreamMessage, None]

_STORE_TIMEOUT = 1.0
# Less time than this left is not worth another attempt: the request has run out of time.
_MIN_ATTEMPT_S = 0.1
_WHY = {
    Next.NEXT_GROUP: "group exhausted",
    Next.CONTEXT_WINDOW: "context window exceeded",
    Next.CONTENT_POLICY: "content policy",
}


@dataclass(frozen=True)
class Limits:
    """Time limits of the pipeline and the backoff between retries, in seconds."""

    analysis_timeout: float
    cache_timeout: float
    backoff_base: float = 0.1
    backoff_max: float = 5.0


@dataclass(frozen=True)
class _Snapshot:
    """Everything one config decides about routing; a reload swaps in a new one whole, and each request
    keeps the one it started with."""

    config: Config
    groups: dict[str, list[ModelEntry]]
    strategy: Strategy
    aliases: dict[str, AutoPolicy]
    fallbacks: Fallbacks
    policy: RetryPolicy


@dataclass
class _Prepared:
    snap: _Snapshot
    # group is the name the client asked for (a group or an alias); first is the group planned first.
    group: str
    first: str
    request: chat_pb2.ChatRequest
    route: route_pb2.RouteRecord
    context: context_pb2.RequestContext
    analysis: classifier_pb2.AnalyzeResponse | None
    hit: chat_pb2.ChatCompletion | None
    store: bool
    retry_after: float | None = None
    calls: int = 0


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


def cost_of(entry: ModelEntry, usage: chat_pb2.Usage) -> float:
    """Returns the cost in USD of usage at the deployment's configured prices (0 when unpriced)."""
    info = entry.model_info
    return usage.prompt_tokens * (info.input_cost_per_token or 0.0) + usage.completion_tokens * (
        info.output_cost_per_token or 0.0
    )


class Pipeline:
    """Sequences chat requests over the classifier, cache and providers services."""

    def __init__(
        self, config: Config, classifier: Classifier, cache: Cache, providers: Providers, limits: Limits
    ) -> None:
        self._classifier, self._cache, self._providers = classifier, cache, providers
        self._limits = limits
        self._complexity: ComplexityModel | None = None
        self._snap = self._build(config)
        self._unavailable: dict[str, str] = {}
        self._background: set[asyncio.Task[None]] = set()
        self._rng = random.Random()

    @property
    def request_timeout(self) -> float:
        """Returns the current bound of a whole request, all attempts included (seconds)."""
        return self._snap.config.switchyard.request_timeout

    def models(self) -> list[tuple[str, str]]:
        """Returns (name, kind) of every model group and alias clients may ask for, in config order."""
        snap = self._snap
        return [(name, "group") for name in snap.groups] + [(name, "alias") for name in snap.aliases]

    async def reload(self, config: Config) -> None:
        """Swaps in the routing table of a new config; requests in flight finish on the table they began with."""
        self._snap = await asyncio.to_thread(self._build, config)
        with contextlib.suppress(SwitchyardError):
            await self.refresh_deployments()

    def _build(self, config: Config) -> _Snapshot:
        settings = config.router_settings
        policy = RetryPolicy.from_settings(settings, self._limits.backoff_base, self._limits.backoff_max)
        aliases: dict[str, AutoPolicy] = {}
        if config.switchyard.aliases:
            # The complexity model is loaded once; a reload only recalibrates the thresholds.
            self._complexity = self._complexity or ComplexityModel.load()
            aliases = {n: AutoPolicy.calibrated(a, self._complexity) for n, a in config.switchyard.aliases.items()}
        return _Snapshot(
            config,
            config.groups(),
            _strategy(settings.routing_strategy),
            aliases,
            Fallbacks.from_settings(settings),
            policy,
        )

    async def refresh_deployments(self) -> None:
        """Re-reads from the providers service which deployments cannot be called, and why."""
        listing = await self._providers.list_deployments(timeout=2.0)
        self._unavailable = {d.id: d.unavailable_reason for d in listing.deployments if not d.available}

    async def drain(self) -> None:
        """Waits for background cache writes to finish (used at shutdown)."""
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    # ------------------------------------------------------------------ unary

    async def complete(
        self, request: chat_pb2.ChatRequest, context: context_pb2.RequestContext, deadline: float
    ) -> router_pb2.ChatCompletionResponse:
        """Returns the completion for request and its route record, or raises SwitchyardError."""
        prep = await self._prepare(request, context)
        if prep.hit is not None:
            return router_pb2.ChatCompletionResponse(completion=prep.hit, route=prep.route)

        async def call(entry: ModelEntry, timeout: float) -> providers_pb2.GenerateResponse:
            generate = providers_pb2.GenerateRequest(
                deployment_id=entry.deployment_id, request=request, request_id=prep.context.request_id
            )
            return await self._providers.generate(generate, timeout)

        entry, reply = await self._attempt(prep, deadline, call)
        self._finish_route(prep.route, entry, reply.upstream, reply.completion.usage)
        if prep.store:
            self._store(prep, reply.completion)
        return router_pb2.ChatCompletionResponse(completion=reply.completion, route=prep.route)

    # ------------------------------------------------------------------ streaming

    async def stream(
        self, request: chat_pb2.ChatRequest, context: context_pb2.RequestContext, deadline: float
    ) -> AsyncIterator[router_pb2.StreamChatCompletionResponse]:
        """Yields chunk batches, then a last message with the route record.

        Nothing is yielded before a deployment sent its first token: a failure or a stall past the
        first-token deadline before it fails over; a failure after it ends with STREAM_INTERRUPTED.
        """
        prep = await self._prepare(request, context)
        if prep.hit is not None:
            chunks = replay(prep.hit, request.stream_options.include_usage)
            yield router_pb2.StreamChatCompletionResponse(chunks=chunks, route=prep.route)
            yield router_pb2.StreamChatCompletionResponse(route=prep.route)
            return
        stream_request = providers_pb2.StreamGenerateRequest(request=request, request_id=prep.context.request_id)
        settings = prep.snap.config.router_settings

        async def call(entry: ModelEntry, timeout: float) -> tuple[list[StreamMessage], Upstream]:
            stream_request.deployment_id = entry.deployment_id
            upstream = self._providers.stream(stream_request, max(deadline - time.monotonic(), 0.001))
            stream_timeout = entry.litellm_params.stream_timeout or settings.stream_timeout
            limit = min(stream_timeout, deadline - time.monotonic()) if stream_timeout else timeout
            try:
                return await first_token(upstream, limit), upstream
            except TimeoutError:
                await upstream.aclose()
                if time.monotonic() >= deadline:
                    raise
                raise _no_first_token(entry, limit) from None
            except BaseException:
                await upstream.aclose()
                raise

        entry, (head, upstream) = await self._attempt(prep, deadline, call)
        async for message in self._relay(prep, entry, head, upstream):
            yield message

    async def _relay(
        self, prep: _Prepared, entry: ModelEntry, head: list[StreamMessage], upstream: Upstream
    ) -> AsyncIterator[router_pb2.StreamChatCompletionResponse]:
        """Yields a started stream (the messages read up to its first token, then the rest), then the route."""
        include_usage = prep.request.stream_options.include_usage
        prep.route.deployment_id, prep.route.provider = entry.deployment_id, entry.provider
        prep.route.model = entry.upstream_model
        pending = deque(head)
        collected: list[chat_pb2.ChatCompletionChunk] = []
        record: providers_pb2.UpstreamRecord | None = None
        first = True
        try:
            while (batch := pending.popleft() if pending else await anext(upstream, None)) is not None:
                collected.extend(batch.chunks)
                visible = [c for c in batch.chunks if include_usage or c.choices or not c.HasField("usage")]
                if visible or first:
                    message = router_pb2.StreamChatCompletionResponse(chunks=visible)
                    if first:
                        message.route.CopyFrom(prep.route)
                        first = False
                    yield message
                if batch.HasField("upstream"):
                    record = batch.upstream
        except SwitchyardError as err:
            self._failed(entry, None, err)
            raise SwitchyardError(
                E.ERROR_REASON_STREAM_INTERRUPTED,
                f"the stream from {entry.deployment_id} broke after it started: {err.message}",
                metadata=err.metadata,
                route=prep.route,
            ) from None
        finally:
            await upstream.aclose()
        completion = assemble(collected)
        self._finish_route(prep.route, entry, record, completion.usage)
        yield router_pb2.StreamChatCompletionResponse(route=prep.route)
        if prep.store:
            self._store(prep, completion)

    # ------------------------------------------------------------------ steps

    async def _prepare(self, request: chat_pb2.ChatRequest, context: context_pb2.RequestContext) -> _Prepared:
        snap = self._snap
        alias = snap.aliases.get(request.model)
        if request.model not in snap.groups and alias is None:
            raise SwitchyardError(
                E.ERROR_REASON_MODEL_NOT_FOUND,
                f"The model `{request.model}` does not exist or you do not have access to it.",
                param="model",
            )
        if not context.request_id:
            fresh = context_pb2.RequestContext()
            fresh.CopyFrom(context)
            fresh.request_id = uuid.uuid4().hex
            context = fresh
        route = route_pb2.RouteRecord(group=request.model, strategy=snap.strategy.name)
        use_cache = snap.config.switchyard.cache_enabled and not context.hints.cache_bypass
        analysis, hit = await asyncio.gather(
            self._analyze(request, context, route),
            self._lookup(request, context, route) if use_cache else _nothing(),
        )
        first = request.model
        if alias is not None:
            choice = alias.choose(analysis)
            first, route.reason = choice.group, choice.reason
        if analysis is not None and analysis.injection.detected:
            first = self._guard(snap, analysis, route) or first
            # A suspicious prompt neither gets nor leaves a cached answer.
            hit, use_cache = None, False
        if not use_cache:
            route.cache = route_pb2.CACHE_RESULT_BYPASS
        store = use_cache and not context.hints.cache_no_store and route.cache == route_pb2.CACHE_RESULT_MISS
        if hit is not None:
            route.reason = "answered from the cache"
        return _Prepared(snap, request.model, first, request, route, context, analysis, hit, store)

    def _guard(
        self, snap: _Snapshot, analysis: classifier_pb2.AnalyzeResponse, route: route_pb2.RouteRecord
    ) -> str | None:
        """Acts on an injection verdict: raises PROMPT_BLOCKED, or records it; returns the group to use instead."""
        guard = snap.config.switchyard.guard
        kind = analysis.injection.kind or "injection"
        if guard.action == "block":
            raise SwitchyardError(
                E.ERROR_REASON_PROMPT_BLOCKED,
                f"The prompt was blocked by Switchyard's prompt-injection guard ({kind}).",
                param="messages",
                route=route,
            )
        if guard.action == "flag":
            route.guard = "flagged"
            return None
        route.guard = "rerouted"
        return guard.route_to

    async def _analyze(
        self, request: chat_pb2.ChatRequest, context: context_pb2.RequestContext, route: route_pb2.RouteRecord
    ) -> classifier_pb2.AnalyzeResponse | None:
        try:
            return await self._classifier.analyze(request, context, self._limits.analysis_timeout)
        except SwitchyardError as err:
            if err.reason == E.ERROR_REASON_INVALID_REQUEST:
                raise
            log.warning("classifier unavailable, routing on defaults: %s", err.message)
            route.analysis_degraded = True
            return None

    async def _lookup(
        self, request: chat_pb2.ChatRequest, context: context_pb2.RequestContext, route: route_pb2.RouteRecord
    ) -> chat_pb2.ChatCompletion | None:
        lookup_request = cache_pb2.LookupRequest(tenant=context.tenant, model_group=request.model, request=request)
        try:
            found = await self._cache.lookup(lookup_request, self._limits.cache_timeout)
        except SwitchyardError as err:
            log.warning("cache unavailable, skipping it: %s", err.message)
            route.cache = route_pb2.CACHE_RESULT_ERROR
            return None
        route.cache = route_pb2.CACHE_RESULT_HIT if found.hit else route_pb2.CACHE_RESULT_MISS
        return found.completion if found.hit else None

    # ------------------------------------------------------------------ routing and failover

    def _plan(self, prep: _Prepared, group: str) -> Plan:
        """Returns the plan of one group (fallback groups too), recording the candidates it leaves out."""
        entries = prep.snap.groups.get(group, [])
        candidates = []
        for entry in entries:
            reason = self._unavailable.get(entry.deployment_id)
            if reason is None:
                candidates.append(Candidate(entry))
            else:
                record_skip(prep.route, entry, group, E.ERROR_REASON_DEPLOYMENT_UNAVAILABLE, reason)
        plan = prep.snap.strategy.plan(candidates, RequestFacts())
        by_id = {entry.deployment_id: entry for entry in entries}
        for left_out in plan.skipped:
            if left_out.deployment_id in by_id:
                record_skip(prep.route, by_id[left_out.deployment_id], group, left_out.reason, left_out.detail)
        return plan

    async def _attempt(
        self, prep: _Prepared, deadline: float, call: Callable[[ModelEntry, float], Awaitable[T]]
    ) -> tuple[ModelEntry, T]:
        """Returns the first successful call along the chain of groups, retrying and failing over as configured."""
        chain = GroupChain(prep.snap.fallbacks, prep.first, prep.group)
        previous: tuple[str, Next] | None = None
        while (group := chain.next()) is not None:
            plan = self._plan(prep, group)
            run = _GroupRun(group, plan, CandidateQueue(plan.order))
            prep.route.groups_tried.append(group)
            _explain(prep.route, run, previous)
            outcome = await self._try_group(prep, run, deadline, call)
            if not isinstance(outcome, _GroupEnd):
                prep.route.score = run.plan.score
                return outcome
            if outcome.next in (Next.CONTEXT_WINDOW, Next.CONTENT_POLICY) and not chain.switch(outcome.next, group):
                assert outcome.error is not None
                outcome.error.route = prep.route
                raise outcome.error
            previous = (group, outcome.next)
        if deadline - time.monotonic() <= _MIN_ATTEMPT_S:
            raise self._deadline(prep)
        raise all_failed(prep.route, prep.group, prep.retry_after)

    async def _try_group(
        self, prep: _Prepared, run: _GroupRun, deadline: float, call: Callable[[ModelEntry, float], Awaitable[T]]
    ) -> tuple[ModelEntry, T] | _GroupEnd:
        """Returns the first success among one group's candidates, or where to go once the group is spent."""
        policy = prep.snap.policy
        while (when := run.queue.peek_time()) is not None:
            wait = max(0.0, when - time.monotonic())
            if time.monotonic() + wait + _MIN_ATTEMPT_S > deadline:
                break  # the next retry could not start in time; later groups may still answer at once
            candidate, backoff = run.queue.pop()
            entry = candidate.entry
            if wait:
                await asyncio.sleep(wait)
            refused = await self._admit(entry)
            if refused is not None:
                record_skip(prep.route, entry, run.group, E.ERROR_REASON_DEPLOYMENT_UNAVAILABLE, refused)
                continue
            try:
                return entry, await self._call(prep, entry, call, group=run.group, backoff=backoff, deadline=deadline)
            except SwitchyardError as err:
                run.count += 1
                verdict = policy.verdict(err.reason, run.count)
                prep.route.attempts[-1].error_class = verdict.error_class or ""
                self._failed(entry, verdict.error_class, err)
                if verdict.next is Next.STOP:
                    err.route = prep.route
                    raise
                if verdict.next is not Next.SAME_GROUP:
                    return _GroupEnd(verdict.next, err)
                if verdict.again:
                    retry = run.failures[entry.deployment_id] = run.failures.get(entry.deployment_id, 0) + 1
                    delay = policy.backoff(retry - 1, err.retry_after_s, self._rng)
                    run.queue.again(candidate, time.monotonic(), delay)
        return _GroupEnd(Next.NEXT_GROUP)

    async def _call(
        self,
        prep: _Prepared,
        entry: ModelEntry,
        call: Callable[[ModelEntry, float], Awaitable[T]],
        *,
        group: str,
        backoff: float,
        deadline: float,
    ) -> T:
        """Returns one call's result, recording the attempt; raises its SwitchyardError."""
        remaining = deadline - time.monotonic()
        settings = prep.snap.config.router_settings
        timeout = min(entry.litellm_params.timeout or settings.timeout, remaining)
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
            result = await call(entry, timeout)
        except (SwitchyardError, TimeoutError) as raw:
            err = attempt_error(raw, deadline, time.monotonic())
            attempt.latency_ms = (time.monotonic() - started) * 1000
            record_failure(attempt, err)
            if err.retry_after_s is not None:
                prep.retry_after = min(prep.retry_after or err.retry_after_s, err.retry_after_s)
            if err.reason == E.ERROR_REASON_DEADLINE_EXCEEDED:
                raise self._deadline(prep) from None
            raise err from None
        attempt.latency_ms = (time.monotonic() - started) * 1000
        attempt.outcome = route_pb2.ATTEMPT_OUTCOME_SUCCESS
        self._succeeded(entry, attempt.latency_ms, attempt.latency_ms if prep.request.stream else None)
        return result

    # Seams for the shared state (circuit breakers, rate windows, latency statistics): each attempt
    # asks `_admit` first and reports its outcome to `_succeeded` or `_failed`.

    async def _admit(self, entry: ModelEntry) -> str | None:
        """Returns why entry must not be called now (open circuit, full rate window), or None to call it."""
        return None

    def _succeeded(self, entry: ModelEntry, latency_ms: float, ttft_ms: float | None) -> None:
        """Notes a successful call; latency_ms is the time to the first token for a stream."""

    def _failed(self, entry: ModelEntry, error_class: ErrorClass | None, err: SwitchyardError) -> None:
        """Notes a failed call (or a stream that broke after its first token, error_class None)."""

    def _deadline(self, prep: _Prepared) -> SwitchyardError:
        return SwitchyardError(
            E.ERROR_REASON_DEADLINE_EXCEEDED,
            f"the request to model '{prep.group}' ran out of time after {prep.calls} attempt(s)",
            route=prep.route,
        )

    def _finish_route(
        self,
        route: route_pb2.RouteRecord,
        entry: ModelEntry,
        upstream: providers_pb2.UpstreamRecord | None,
        usage: chat_pb2.Usage,
    ) -> None:
        route.deployment_id, route.provider, route.model = entry.deployment_id, entry.provider, entry.upstream_model
        route.cost_usd = cost_of(entry, usage)
        if upstream is not None and route.attempts:
            route.attempts[-1].upstream_status = upstream.http_status
            route.attempts[-1].ttft_ms = upstream.ttft_ms

    def _store(self, prep: _Prepared, completion: chat_pb2.ChatCompletion) -> None:
        """Stores a complete answer in the background; the cache decides whether it is storable."""
        if not all(c.finish_reason == chat_pb2.FINISH_REASON_STOP for c in completion.choices):
            return
        store = cache_pb2.StoreRequest(
            tenant=prep.context.tenant,
            model_group=prep.group,
            request=prep.request,
            completion=completion,
        )
        task = asyncio.create_task(self._store_now(store))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _store_now(self, store: cache_pb2.StoreRequest) -> None:
        with contextlib.suppress(SwitchyardError):
            await self._cache.store(store, _STORE_TIMEOUT)


async def _nothing() -> None:
    return None


def _strategy(name: str) -> Strategy:
    strategy = lookup(name)
    if strategy is None:
        log.warning("routing strategy %r is not available yet; using simple-shuffle", name)
        return SimpleShuffle()
    return strategy


def _no_first_token(entry: ModelEntry, limit: float) -> SwitchyardError:
    return SwitchyardError(
        E.ERROR_REASON_UPSTREAM_TIMEOUT,
        f"{entry.provider} deployment {entry.deployment_id} sent no first token within {limit:.3g}s",
        metadata={"provider": entry.provider, "deployment_id": entry.deployment_id},
    )


def _explain(route: route_pb2.RouteRecord, run: _GroupRun, previous: tuple[str, Next] | None) -> None:
    """Adds why a group is planned and how to the route's reason."""
    if previous is None:
        route.reason = f"{route.reason}; {run.plan.reason}" if route.reason else run.plan.reason
        return
    group, why = previous
    route.reason = f"{route.reason}; {group} {_WHY.get(why, why.value)} -> {run.group}: {run.plan.reason}"
