"""The request pipeline: analyse, look up the cache, plan a route, call providers with failover, store.

This is the one place that sequences a request (DESIGN §1). It talks to its peers through the
clients in `peers.py`, so it never sees gRPC; every failure it raises is a SwitchyardError that
carries the RouteRecord of what was tried.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from switchyard.cache.v1 import cache_pb2
from switchyard.classifier.v1 import classifier_pb2
from switchyard.common.v1 import chat_pb2, context_pb2, route_pb2
from switchyard.common.v1 import errors_pb2 as E
from switchyard.providers.v1 import providers_pb2
from switchyard.router.v1 import router_pb2

from services.common.config import Config, ModelEntry
from services.common.errors import SwitchyardError, reason_name
from services.router.aliases import AutoPolicy
from services.router.peers import Cache, Classifier, Providers
from services.router.replay import assemble, replay
from services.router.strategies import Candidate, RequestFacts, Strategy, lookup
from services.router.strategies.shuffle import SimpleShuffle

log = logging.getLogger(__name__)
T = TypeVar("T")

_RETRY_SAME = frozenset(
    {
        E.ERROR_REASON_UPSTREAM_RATE_LIMITED,
        E.ERROR_REASON_UPSTREAM_UNAVAILABLE,
        E.ERROR_REASON_UPSTREAM_TIMEOUT,
        E.ERROR_REASON_UPSTREAM_CONNECT,
        E.ERROR_REASON_UPSTREAM_MALFORMED,
    }
)
_OVERLOAD = frozenset(
    {
        E.ERROR_REASON_UPSTREAM_UNAVAILABLE,
        E.ERROR_REASON_DEPLOYMENT_UNAVAILABLE,
        E.ERROR_REASON_UPSTREAM_TIMEOUT,
    }
)
_RATE = frozenset({E.ERROR_REASON_UPSTREAM_RATE_LIMITED, E.ERROR_REASON_UPSTREAM_QUOTA_EXHAUSTED})
_STORE_TIMEOUT = 1.0
# Less time than this left is not worth another attempt: the request has run out of time.
_MIN_ATTEMPT_S = 0.1


@dataclass(frozen=True)
class Limits:
    """Time limits of the pipeline, in seconds."""

    request_timeout: float
    analysis_timeout: float
    cache_timeout: float


@dataclass
class _Prepared:
    group: str
    request: chat_pb2.ChatRequest
    entries: list[ModelEntry]
    route: route_pb2.RouteRecord
    context: context_pb2.RequestContext
    analysis: classifier_pb2.AnalyzeResponse | None
    hit: chat_pb2.ChatCompletion | None
    store: bool
    retry_after: float | None = None


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
        self._config = config
        self._groups = config.groups()
        self._classifier, self._cache, self._providers = classifier, cache, providers
        self._limits = limits
        self._strategy = _strategy(config.router_settings.routing_strategy)
        self._aliases = _policies(config)
        self._unavailable: dict[str, str] = {}
        self._background: set[asyncio.Task[None]] = set()

    def models(self) -> list[tuple[str, str]]:
        """Returns (name, kind) of every model group and alias clients may ask for, in config order."""
        return [(name, "group") for name in self._groups] + [(name, "alias") for name in self._aliases]

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
        """Yields chunk batches, then a last message with the route record; fails over before the first chunk."""
        prep = await self._prepare(request, context)
        include_usage = request.stream_options.include_usage
        if prep.hit is not None:
            yield router_pb2.StreamChatCompletionResponse(chunks=replay(prep.hit, include_usage), route=prep.route)
            yield router_pb2.StreamChatCompletionResponse(route=prep.route)
            return
        stream_request = providers_pb2.StreamGenerateRequest(request=request, request_id=prep.context.request_id)

        async def call(
            entry: ModelEntry, timeout: float
        ) -> tuple[providers_pb2.StreamGenerateResponse, AsyncGenerator[providers_pb2.StreamGenerateResponse, None]]:
            stream_request.deployment_id = entry.deployment_id
            upstream = self._providers.stream(stream_request, max(deadline - time.monotonic(), 0.001))
            try:
                first = await asyncio.wait_for(anext(upstream), timeout)
            except BaseException:
                await upstream.aclose()
                raise
            return first, upstream

        entry, (batch, upstream) = await self._attempt(prep, deadline, call)
        prep.route.deployment_id, prep.route.provider = entry.deployment_id, entry.provider
        prep.route.model = entry.upstream_model
        collected: list[chat_pb2.ChatCompletionChunk] = []
        record: providers_pb2.UpstreamRecord | None = None
        first = True
        try:
            while True:
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
                try:
                    batch = await anext(upstream)
                except StopAsyncIteration:
                    break
        except SwitchyardError as err:
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
        entries = self._groups.get(request.model, [])
        alias = self._aliases.get(request.model)
        if not entries and alias is None:
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
        route = route_pb2.RouteRecord(group=request.model, strategy=self._strategy.name)
        use_cache = self._config.switchyard.cache_enabled and not context.hints.cache_bypass
        analysis, hit = await asyncio.gather(
            self._analyze(request, context, route),
            self._lookup(request, context, route) if use_cache else _nothing(),
        )
        if alias is not None:
            choice = alias.choose(analysis)
            entries, route.reason = self._groups[choice.group], choice.reason
        if analysis is not None and analysis.injection.detected:
            entries = self._guard(analysis, route) or entries
            # A suspicious prompt neither gets nor leaves a cached answer.
            hit, use_cache = None, False
        if not use_cache:
            route.cache = route_pb2.CACHE_RESULT_BYPASS
        store = use_cache and not context.hints.cache_no_store and route.cache == route_pb2.CACHE_RESULT_MISS
        if hit is not None:
            route.reason = "answered from the cache"
        return _Prepared(request.model, request, entries, route, context, analysis, hit, store)

    def _guard(self, analysis: classifier_pb2.AnalyzeResponse, route: route_pb2.RouteRecord) -> list[ModelEntry] | None:
        """Acts on an injection verdict: raises PROMPT_BLOCKED, or records it; returns the group to use instead."""
        guard = self._config.switchyard.guard
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
        return self._groups[guard.route_to]

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

    def _candidates(self, prep: _Prepared) -> list[Candidate]:
        callable_ = []
        for entry in prep.entries:
            reason = self._unavailable.get(entry.deployment_id)
            if reason is None:
                callable_.append(Candidate(entry))
                continue
            prep.route.attempts.add(
                deployment_id=entry.deployment_id,
                provider=entry.provider,
                model=entry.upstream_model,
                outcome=route_pb2.ATTEMPT_OUTCOME_SKIPPED,
                error_reason=E.ERROR_REASON_DEPLOYMENT_UNAVAILABLE,
                error_message=reason,
            )
        return callable_

    async def _attempt(
        self, prep: _Prepared, deadline: float, call: Callable[[ModelEntry, float], Awaitable[T]]
    ) -> tuple[ModelEntry, T]:
        """Returns the first successful call along the plan, retrying and failing over as configured."""
        plan = self._strategy.plan(self._candidates(prep), RequestFacts())
        prep.route.reason = f"{prep.route.reason}; {plan.reason}" if prep.route.reason else plan.reason
        settings = self._config.router_settings
        queue: list[Candidate] = list(plan.order)
        again: list[Candidate] = []
        for number in range(1, settings.num_retries + 2):
            if not queue:
                queue, again = again, []
            if not queue:
                break
            entry = queue.pop(0).entry
            remaining = deadline - time.monotonic()
            if remaining <= _MIN_ATTEMPT_S:
                raise self._deadline(prep)
            timeout = min(entry.litellm_params.timeout or settings.timeout, remaining)
            attempt = prep.route.attempts.add(
                number=number, deployment_id=entry.deployment_id, provider=entry.provider, model=entry.upstream_model
            )
            started = time.monotonic()
            try:
                result = await call(entry, timeout)
            except (SwitchyardError, TimeoutError) as raw:
                err = _as_attempt_error(raw, deadline)
                attempt.latency_ms = (time.monotonic() - started) * 1000
                _fail(attempt, err)
                if err.retry_after_s is not None:
                    prep.retry_after = min(prep.retry_after or err.retry_after_s, err.retry_after_s)
                if err.reason == E.ERROR_REASON_DEADLINE_EXCEEDED:
                    raise self._deadline(prep) from None
                if not err.info.failover:
                    err.route = prep.route
                    raise err from None
                if err.reason in _RETRY_SAME:
                    again.append(Candidate(entry))
                continue
            attempt.latency_ms = (time.monotonic() - started) * 1000
            attempt.outcome = route_pb2.ATTEMPT_OUTCOME_SUCCESS
            return entry, result
        if deadline - time.monotonic() <= _MIN_ATTEMPT_S:
            raise self._deadline(prep)
        raise _all_failed(prep)

    def _deadline(self, prep: _Prepared) -> SwitchyardError:
        return SwitchyardError(
            E.ERROR_REASON_DEADLINE_EXCEEDED,
            f"the request to model '{prep.group}' ran out of time after {len(prep.route.attempts)} attempt(s)",
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


def _policies(config: Config) -> dict[str, AutoPolicy]:
    """Returns the policy of every configured alias, calibrated once at start-up."""
    if not config.switchyard.aliases:
        return {}
    from services.classifier.models.complexity import ComplexityModel

    model = ComplexityModel.load()
    return {name: AutoPolicy.calibrated(alias, model) for name, alias in config.switchyard.aliases.items()}


def _strategy(name: str) -> Strategy:
    strategy = lookup(name)
    if strategy is None:
        log.warning("routing strategy %r is not available yet; using simple-shuffle", name)
        return SimpleShuffle()
    return strategy


def _as_attempt_error(raw: BaseException, deadline: float) -> SwitchyardError:
    """Returns the error of one attempt; a per-attempt timeout is an upstream timeout, not the deadline."""
    if isinstance(raw, SwitchyardError) and raw.reason != E.ERROR_REASON_DEADLINE_EXCEEDED:
        return raw
    if time.monotonic() >= deadline:
        return SwitchyardError(E.ERROR_REASON_DEADLINE_EXCEEDED, "deadline exceeded")
    return SwitchyardError(E.ERROR_REASON_UPSTREAM_TIMEOUT, "the deployment did not answer within its timeout")


def _fail(attempt: route_pb2.Attempt, err: SwitchyardError) -> None:
    attempt.outcome = route_pb2.ATTEMPT_OUTCOME_FAILED
    attempt.error_reason = err.reason
    attempt.error_message = err.message
    status = err.metadata.get("upstream_status", "")
    attempt.upstream_status = int(status) if status.isdigit() else 0


def _all_failed(prep: _Prepared) -> SwitchyardError:
    """Returns the error listing every attempt: 429 when all were rate limits, 503 when all overloaded."""
    attempts: Sequence[route_pb2.Attempt] = prep.route.attempts
    reasons = {a.error_reason for a in attempts}
    status = 429 if reasons and reasons <= _RATE else 503 if reasons and reasons <= _OVERLOAD else 502
    causes = "; ".join(
        f"{a.deployment_id} ({a.provider}/{a.model}): {reason_name(a.error_reason)}"
        + (f" [HTTP {a.upstream_status}]" if a.upstream_status else "")
        + (f" {a.error_message}" if a.error_message else "")
        for a in attempts
    )
    tried = sum(1 for a in attempts if a.outcome == route_pb2.ATTEMPT_OUTCOME_FAILED)
    message = f"all candidates for model '{prep.group}' failed ({tried} attempt(s)): {causes or 'no deployments'}"
    return SwitchyardError(
        E.ERROR_REASON_ALL_CANDIDATES_FAILED,
        message,
        http_status=status,
        route=prep.route,
        retry_after_s=prep.retry_after if status == 429 else None,
    )
