"""The request pipeline: analyse, resolve the route, look up the cache, walk the plan, store, shadow.

This is the one place that sequences a request (DESIGN §1). It talks to its peers through the
clients in `peers.py`, so it never sees gRPC; every failure it raises is a SwitchyardError that
carries the RouteRecord of what was tried.

    context = tally.begin(context)                           # governance: the key (401), its models (403)
    reach = tally.reach(table)                               # the deployments the key may use (scope.py)
    analysis = classifier.Analyze(request)                   # routing facts; none: guard.on_unavailable
    resolution = table.resolve(model, facts_of(...))         # rules, experiment arm, alias policy or group
    hit = cache.Lookup(model_group=resolution.target)       # unless bypassed (caching.py); a hit is served
                                                             # only from a deployment within reach
    upstream = tally.admit(prep)                             # rpm/tpm and budget hold, one round trip (429),
                                                             # priced over every deployment within reach of
                                                             # the chain; near a cap, the output is capped
    answer = Walk(...).run()                                 # walk.py: plan, admit, call, fail over
    state: settle + record_success (background); cache.Store; shadow copy (background)
    tally: settle the hold with the real cost (background); one ledger record per request, errors included

The cache is scoped by the resolved target, which the analysis may decide (content rules,
experiments): for those names the lookup waits for the analysis; for a plain group or alias it runs
beside it; the cache embeds the request itself (switchyard.ml.embedder, tens of microseconds), from
the text it normalises. The shared state (rate windows, in-flight counts, latency,
circuits) is reached through `Gate`; what the config decides through one `Policies`, swapped whole
on reload. A streamed answer is relayed by streaming.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import random
from collections.abc import AsyncGenerator, AsyncIterator, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from opentelemetry import context as otel_context
from opentelemetry import trace

from switchyard.cache.v1 import cache_pb2
from switchyard.classifier.v1 import classifier_pb2
from switchyard.common.v1 import chat_pb2, context_pb2, route_pb2
from switchyard.common.v1 import errors_pb2 as E
from switchyard.config import Config, ModelEntry
from switchyard.evaluator.v1 import evaluator_pb2
from switchyard.ml.complexity import ComplexityModel
from switchyard.providers.v1 import providers_pb2
from switchyard.router.v1 import router_pb2
from switchyard.runtime import attributes as attr
from switchyard.runtime.errors import SwitchyardError
from switchyard.runtime.logs import OutageLog
from switchyard.services.router import caching
from switchyard.services.router.evaluation import NoSink, Sampler
from switchyard.services.router.facts import facts_of
from switchyard.services.router.gate import Gate
from switchyard.services.router.governance.tally import Governance, Tally
from switchyard.services.router.guard import guard, unanalysed
from switchyard.services.router.hedging import GroupLatencies
from switchyard.services.router.peers import Cache, Classifier, Providers
from switchyard.services.router.record import counted_usage, describe, finish_route
from switchyard.services.router.replay import replay
from switchyard.services.router.routing import Resolution
from switchyard.services.router.scope import Reach
from switchyard.services.router.shadow import ShadowSender
from switchyard.services.router.state import RouterState
from switchyard.services.router.streaming import close_stream, first_token_call, relay
from switchyard.services.router.walk import Call, Discard, Policies, Prepared, Walk, keep

log = logging.getLogger(__name__)
T = TypeVar("T")

_STORE_TIMEOUT = 1.0


@dataclass(frozen=True)
class PipelineOptions:
    """How the pipeline waits for its peers and between retries (seconds)."""

    analysis_timeout: float
    cache_timeout: float
    backoff_base: float = 0.1
    backoff_max: float = 5.0


class Pipeline:
    """Sequences chat requests over the classifier, cache and providers services and the shared state."""

    def __init__(
        self,
        config: Config,
        classifier: Classifier,
        cache: Cache,
        providers: Providers,
        options: PipelineOptions,
        *,
        state: RouterState,
        governance: Governance,
        tracer: trace.Tracer | None = None,
        sampler: Sampler | None = None,
    ) -> None:
        self._classifier, self._cache, self._providers = classifier, cache, providers
        self.governance = governance
        self._options = options
        self._rng = random.Random()
        # What hedged groups read their `after: pNN` delay from: this router's latest answers per group.
        self._latencies = GroupLatencies()
        self._complexity: ComplexityModel | None = None
        self._policies = self._build(config)
        self._state_url = config.state_url()
        self._gate = Gate(state, self._spawn)
        self._shadows = ShadowSender(self._gate, providers.generate, tracer or trace.NoOpTracer())
        self._unavailable: dict[str, str] = {}
        # Every request asks both peers: while one is down, its outage is logged once, not per request.
        self._classifier_outage = OutageLog(log, _peer("classifier", classifier.address), "routing on defaults")
        self._cache_outage = OutageLog(log, _peer("cache", cache.address), "skipping it")
        self._background: set[asyncio.Task[None]] = set()
        self._sampler = sampler or Sampler(lambda: self._policies.config.switchyard.evaluation, NoSink())

    def use_sampler(self, sampler: Sampler) -> None:
        """Sends samples of completed requests to the evaluator through sampler."""
        self._sampler = sampler

    @property
    def request_timeout(self) -> float:
        """Returns the current bound of a whole request, all attempts included (seconds)."""
        return self._policies.config.switchyard.request_timeout

    @property
    def policies(self) -> Policies:
        """Returns what the current config decides (the routing table, retry and circuit policies, limits)."""
        return self._policies

    @property
    def unavailable(self) -> dict[str, str]:
        """Returns the deployments the providers service cannot call, and why."""
        return self._unavailable

    def models(self) -> list[tuple[str, str]]:
        """Returns (name, kind) of every model group and alias clients may ask for, in config order."""
        return self._policies.table.names()

    async def reload(self, config: Config) -> None:
        """Swaps in the routing table of a new config; requests in flight finish on the table they began with.

        The shared state is kept: its counts and circuits stay valid, and a changed Redis URL is only
        used after a restart.
        """
        self._policies = await asyncio.to_thread(self._build, config)
        if config.state_url() != self._state_url:
            log.warning("the shared-state Redis URL changed; the router keeps its current state until restarted")
        with contextlib.suppress(SwitchyardError):
            await self.refresh_deployments()

    def _build(self, config: Config) -> Policies:
        if any(alias.strong_share is not None for alias in config.switchyard.aliases.values()):
            # The complexity model is loaded once; a reload only recalibrates the thresholds.
            self._complexity = self._complexity or ComplexityModel.load()
        backoff = (self._options.backoff_base, self._options.backoff_max)
        return Policies.build(config, self._complexity, backoff, self._rng)

    async def refresh_deployments(self) -> None:
        """Re-reads from the providers service which deployments cannot be called, and why."""
        listing = await self._providers.list_deployments(timeout=2.0)
        self._unavailable = {d.id: d.unavailable_reason for d in listing.deployments if not d.available}

    async def drain(self) -> None:
        """Waits for background work (state writes, cache stores, shadow copies) to finish (at shutdown)."""
        while self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _walk(self, prep: Prepared, call: Call[T], deadline: float, discard: Discard[T] = keep) -> Walk[T]:
        return Walk(
            prep,
            self._gate,
            call,
            unavailable=self._unavailable,
            deadline=deadline,
            rng=self._rng,
            latencies=self._latencies,
            discard=discard,
        )

    # ------------------------------------------------------------------ unary

    async def complete(
        self,
        request: chat_pb2.ChatRequest,
        context: context_pb2.RequestContext,
        deadline: float,
        authorization: str = "",
    ) -> router_pb2.ChatCompletionResponse:
        """Returns the completion for request and its route record, or raises SwitchyardError.

        `authorization` is the caller's credentials ("Bearer sk-..."), checked when auth is on.
        """
        tally = self.governance.tally(request, authorization, stream=False, spawn=self._spawn)
        try:
            return await self._complete(request, await tally.begin(context), deadline, tally)
        except BaseException as exc:
            tally.failed(exc)
            raise
        finally:
            tally.finish()
            self._sample(tally, request)

    async def _complete(
        self, request: chat_pb2.ChatRequest, context: context_pb2.RequestContext, deadline: float, tally: Tally
    ) -> router_pb2.ChatCompletionResponse:
        prep = await self._prepare(request, context, tally)
        upstream = await tally.admit(prep)
        if prep.hit is not None:
            tally.hit(prep)
            return router_pb2.ChatCompletionResponse(completion=prep.hit, route=prep.route)

        async def call(entry: ModelEntry, timeout: float) -> providers_pb2.GenerateResponse:
            generate = providers_pb2.GenerateRequest(
                deployment_id=entry.deployment_id, request=upstream, request_id=prep.context.request_id
            )
            return await self._providers.generate(generate, timeout)

        answer = await self._walk(prep, call, deadline).run()
        reply = answer.result
        if not (reply.completion.usage.prompt_tokens or reply.completion.usage.completion_tokens):
            reply.completion.usage.CopyFrom(counted_usage(reply.completion, prep.facts.prompt_tokens))
        usage = reply.completion.usage
        self._gate.succeeded(answer.admitted, usage.total_tokens, answer.attempt.latency_ms, record=reply.upstream)
        finish_route(prep.route, answer.entry, reply.upstream, usage)
        tally.answered(prep.route, usage)
        self._answered(prep, reply.completion, tally)
        return router_pb2.ChatCompletionResponse(completion=reply.completion, route=prep.route)

    # ------------------------------------------------------------------ streaming

    async def stream(
        self,
        request: chat_pb2.ChatRequest,
        context: context_pb2.RequestContext,
        deadline: float,
        authorization: str = "",
    ) -> AsyncIterator[router_pb2.StreamChatCompletionResponse]:
        """Yields chunk batches, then a last message with the route record.

        Nothing is yielded before a deployment sent its first token: a failure or a stall past the
        first-token deadline before it fails over; a failure after it ends with STREAM_INTERRUPTED.
        """
        tally = self.governance.tally(request, authorization, stream=True, spawn=self._spawn)
        try:
            messages = self._stream(request, await tally.begin(context), deadline, tally)
            async with contextlib.aclosing(messages):
                async for message in messages:
                    yield message
        except BaseException as exc:
            tally.failed(exc)
            raise
        finally:
            tally.finish()
            self._sample(tally, request)

    def _sample(self, tally: Tally, request: chat_pb2.ChatRequest) -> None:
        """Offers the finished request to the evaluator's sampler (never blocks, never raises for it)."""
        route = tally.route
        try:
            self._sampler.completed(tally.record, route.group if route is not None else "", request, tally.answer)
        except Exception:
            log.exception("sampling a request for the evaluator failed")

    async def _stream(
        self, request: chat_pb2.ChatRequest, context: context_pb2.RequestContext, deadline: float, tally: Tally
    ) -> AsyncGenerator[router_pb2.StreamChatCompletionResponse, None]:
        prep = await self._prepare(request, context, tally)
        upstream = await tally.admit(prep)
        if prep.hit is not None:
            tally.hit(prep)
            chunks = replay(prep.hit, request.stream_options.include_usage)
            yield router_pb2.StreamChatCompletionResponse(chunks=chunks, route=prep.route)
            yield router_pb2.StreamChatCompletionResponse(route=prep.route)
            return
        stream_request = providers_pb2.StreamGenerateRequest(request=upstream, request_id=prep.context.request_id)
        call = first_token_call(self._providers, stream_request, prep.policies.config.router_settings, deadline)
        answer = await self._walk(prep, call, deadline, discard=close_stream).run()
        messages = relay(prep, answer, tally, self._gate, lambda c: self._answered(prep, c, tally), deadline=deadline)
        async with contextlib.aclosing(messages):
            async for message in messages:
                yield message

    # ------------------------------------------------------------------ steps

    async def _prepare(
        self, request: chat_pb2.ChatRequest, context: context_pb2.RequestContext, tally: Tally
    ) -> Prepared:
        policies = self._policies
        table, settings = policies.table, policies.config.switchyard
        if not table.knows(request.model):
            raise SwitchyardError(
                E.ERROR_REASON_MODEL_NOT_FOUND,
                f"The model `{request.model}` does not exist or you do not have access to it.",
                param="model",
            )
        route = route_pb2.RouteRecord(group=request.model)
        reach = tally.reach(table)
        bypass = caching.bypass_before_analysis(settings, context)
        # A name whose target the analysis cannot change is looked up while the analysis runs.
        early = table.fixed_target(request.model) if bypass is None else None
        found = None
        if early is None:
            analysis = await self._analyze(request, context, route)
        else:
            analysis, found = await asyncio.gather(
                self._analyze(request, context, route), self._lookup(request, context, route, early)
            )
        if analysis is None and settings.guard.on_unavailable == "block":
            raise unanalysed(route)
        facts = facts_of(request, context, analysis)
        resolution = table.resolve(request.model, facts)
        if analysis is not None and analysis.injection.detected:
            resolution = guard(table, analysis, route, resolution)
        if bypass is None:
            bypass = caching.bypass_after_analysis(settings, facts, analysis)
        resolution = _shadow_within(resolution, reach, request.model)
        describe(route, resolution)
        if bypass is None and early is None:
            found = await self._lookup(request, context, route, resolution.target)
        hit, hit_deployment = None, ""
        if bypass is not None:
            route.cache, route.cache_detail = route_pb2.CACHE_RESULT_BYPASS, bypass
        elif found is not None and found.hit:
            if caching.hit_allowed(table, reach, facts, found):
                hit, hit_deployment = found.completion, found.deployment_id
                route.reason = "answered from the cache"
            else:
                # An answer from a deployment this request may not use: looked up, never served.
                route.cache, route.cache_detail = route_pb2.CACHE_RESULT_MISS, caching.HIT_NOT_ALLOWED
        store = bypass is None and not context.hints.cache_no_store and route.cache == route_pb2.CACHE_RESULT_MISS
        prep = Prepared(policies, request, context, route, facts, resolution, analysis, hit, store)
        prep.reach, prep.hit_deployment = reach, hit_deployment
        prep.reachable = table.reachable(resolution, reach)
        return prep

    async def _analyze(
        self,
        request: chat_pb2.ChatRequest,
        context: context_pb2.RequestContext,
        route: route_pb2.RouteRecord,
    ) -> classifier_pb2.AnalyzeResponse | None:
        try:
            analysis = await self._classifier.analyze(request, context, self._options.analysis_timeout)
        except SwitchyardError as err:
            if err.reason == E.ERROR_REASON_INVALID_REQUEST:
                raise
            self._classifier_outage.failed(err.message)
            route.analysis_degraded = True
            return None
        self._classifier_outage.ok()
        if analysis.model_versions:
            # Which trained models produced the scores this request was routed on.
            models = ",".join(f"{name}={version}" for name, version in sorted(analysis.model_versions.items()))
            trace.get_current_span().set_attribute(attr.ANALYSIS_MODELS, models)
        return analysis

    async def _lookup(
        self,
        request: chat_pb2.ChatRequest,
        context: context_pb2.RequestContext,
        route: route_pb2.RouteRecord,
        group: str,
    ) -> cache_pb2.LookupResponse | None:
        """Returns what the cache found for the request in group's scope (None when it could not be asked)."""
        lookup_request = cache_pb2.LookupRequest(tenant=context.tenant, model_group=group, request=request)
        try:
            found = await self._cache.lookup(lookup_request, self._options.cache_timeout)
        except SwitchyardError as err:
            self._cache_outage.failed(err.message)
            route.cache = route_pb2.CACHE_RESULT_ERROR
            return None
        self._cache_outage.ok()
        route.cache = route_pb2.CACHE_RESULT_HIT if found.hit else route_pb2.CACHE_RESULT_MISS
        route.cache_detail = caching.lookup_detail(found)
        return found

    def _answered(self, prep: Prepared, completion: chat_pb2.ChatCompletion, tally: Tally) -> None:
        """Stores a complete answer when the request may be, and sends its shadow copy (both in the background)."""
        tally.answer = completion
        if prep.store:
            self._store(prep, completion)
        self._shadow(prep, completion, tally)

    def _store(self, prep: Prepared, completion: chat_pb2.ChatCompletion) -> None:
        """Stores a complete answer in the background; the cache decides whether it is storable."""
        if not all(c.finish_reason == chat_pb2.FINISH_REASON_STOP for c in completion.choices):
            return
        store = cache_pb2.StoreRequest(
            tenant=prep.context.tenant,
            model_group=prep.resolution.target,
            request=prep.request,
            completion=completion,
            cost_usd=prep.route.cost_usd,
            ttl_seconds=prep.context.hints.cache_ttl_seconds,
            deployment_id=prep.route.deployment_id,
        )
        self._spawn(self._store_now(store))

    async def _store_now(self, store: cache_pb2.StoreRequest) -> None:
        with contextlib.suppress(SwitchyardError):
            await self._cache.store(store, _STORE_TIMEOUT)

    def _shadow(self, prep: Prepared, completion: chat_pb2.ChatCompletion, tally: Tally) -> None:
        """Sends the request's shadow copy, if its resolution drew one, in the background; the pair of answers
        then goes to the evaluator for a pairwise comparison."""
        shadow = prep.resolution.shadow
        if shadow is None:
            return
        work = self._shadows.send(prep, shadow, self._unavailable, self.request_timeout, otel_context.get_current())

        async def send_and_pair() -> None:
            outcome = await work
            if outcome.status == "ok" and outcome.answer:
                pair = evaluator_pb2.ShadowAnswer(
                    target=outcome.target, deployment_id=outcome.deployment_id, answer=outcome.answer
                )
                self._sampler.paired(tally.record, prep.request, completion, pair)

        self._spawn(_quietly(send_and_pair()))


def _shadow_within(resolution: Resolution, reach: Reach, requested: str) -> Resolution:
    """Returns the resolution without its shadow copy when the key may use none of the copy's deployments
    (the route's reason says so): a copy is never sent where its key may not go (scope.py)."""
    shadow = resolution.shadow
    if shadow is None or reach.within(shadow.entries):
        return resolution
    note = f"shadow copy to {shadow.target} not sent: {reach.refusal(shadow.target)}"
    log.info("request for %s: %s", requested, note)
    reason = f"{resolution.reason}; {note}" if resolution.reason else note
    return dataclasses.replace(resolution, shadow=None, reason=reason)


def _peer(name: str, address: str) -> str:
    return f"{name} at {address}" if address else name


async def _quietly(work: Coroutine[Any, Any, object]) -> None:
    """Runs background work whose result nobody reads; a bug in it is logged, never raised."""
    try:
        await work
    except Exception:
        log.exception("background work failed")
