"""Embeddings requests: the key, its budget hold, the same analysis gate as chat, one call to an embedding
deployment (failing over within the model group), the cost and one ledger record.

    tally.begin(context)                   # 401 / 403, as for chat
    entries = embedding deployments of the model group (model_info.mode: embedding) within the key's reach
    classifier.Analyze(inputs as user turns)   # injection verdict and data classification, as for chat:
                                           # guard.on_unavailable: block refuses an unanalysed request,
                                           # an injection is blocked (flagged under `action: flag`; an
                                           # embedding cannot be rerouted to a chat group, so `route` blocks),
                                           # and residency drops every deployment the data may not reach
                                           # (NO_ALLOWED_DEPLOYMENT when none is left: fail closed)
    tally.admit_embedding(...)             # budget hold and rate windows, priced per input token
    providers.Embed(deployment, request)   # in config order; a failover-class error tries the next one
    tally.answered(route, usage) / failed  # settles the hold; finish() appends the ledger record

No cache, routing strategy or shadow traffic: an embedding group is a plain ordered list.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable, Coroutine
from typing import Any

from switchyard.classifier.v1 import classifier_pb2
from switchyard.common.v1 import chat_pb2, context_pb2, embeddings_pb2, route_pb2
from switchyard.common.v1 import errors_pb2 as E
from switchyard.config import Config, ModelEntry
from switchyard.providers.v1 import providers_pb2
from switchyard.router.v1 import router_pb2
from switchyard.runtime.errors import SwitchyardError
from switchyard.services.router.facts import CHARS_PER_TOKEN, facts_of
from switchyard.services.router.governance.tally import Governance
from switchyard.services.router.guard import unanalysed
from switchyard.services.router.peers import Classifier, Providers
from switchyard.services.router.record import finish_route
from switchyard.services.router.routing import RoutingTable

EMBEDDING_MODE = "embedding"
STRATEGY = "embedding"


def is_embedding(entry: ModelEntry) -> bool:
    """Returns whether a deployment is an embedding model (LiteLLM's `model_info.mode: embedding`)."""
    return entry.model_info.mode == EMBEDDING_MODE


def estimate_tokens(inputs: list[str]) -> int:
    """Returns the routing estimate of the inputs' tokens (four characters a token, at least one each)."""
    return sum(max(1, -(-len(text) // CHARS_PER_TOKEN)) for text in inputs)


def embedding_entries(config: Config, model: str) -> tuple[ModelEntry, ...]:
    """Returns the embedding deployments of a model group, in config order; raises when there are none."""
    group = [e for e in config.model_list if e.model_name == model]
    if not group:
        raise SwitchyardError(E.ERROR_REASON_MODEL_NOT_FOUND, f"The model '{model}' does not exist.", param="model")
    entries = tuple(e for e in group if is_embedding(e))
    if not entries:
        raise SwitchyardError(
            E.ERROR_REASON_INVALID_REQUEST,
            f"The model '{model}' is not an embedding model (model_info.mode: embedding).",
            param="model",
        )
    return entries


def as_chat(request: embeddings_pb2.EmbeddingRequest) -> chat_pb2.ChatRequest:
    """Returns the inputs as the chat request the classifier reads: one user turn per input."""
    chat = chat_pb2.ChatRequest(model=request.model, user=request.user)
    chat.messages.extend(chat_pb2.ChatMessage(role=chat_pb2.ROLE_USER, text=text) for text in request.inputs)
    return chat


def injection_refusal(analysis: classifier_pb2.AnalyzeResponse, route: route_pb2.RouteRecord) -> SwitchyardError:
    """Returns the PROMPT_BLOCKED error of inputs the injection guard flagged."""
    kind = analysis.injection.kind or "injection"
    return SwitchyardError(
        E.ERROR_REASON_PROMPT_BLOCKED,
        f"The input was blocked by Switchyard's prompt-injection guard ({kind}).",
        param="input",
        route=route,
    )


class Embedder:
    """Answers RouterService.Embed through the providers service, under the caller's key and budgets."""

    def __init__(
        self,
        table: Callable[[], RoutingTable],
        providers: Providers,
        governance: Governance,
        classifier: Classifier,
        analysis_timeout: float,
    ) -> None:
        self._table, self._providers, self._governance = table, providers, governance
        self._classifier, self._analysis_timeout = classifier, analysis_timeout
        # Settling holds runs after the reply; the tasks are kept until done so they are not collected.
        self._background: set[asyncio.Task[None]] = set()

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def embed(
        self, request: router_pb2.EmbedRequest, deadline: float, authorization: str
    ) -> router_pb2.EmbedResponse:
        """Returns the embeddings of the request's inputs and its route record; raises SwitchyardError."""
        model = request.request.model
        chat = chat_pb2.ChatRequest(model=model)  # what governance reads: the model asked for
        tally = self._governance.tally(chat, authorization, stream=False, spawn=self._spawn)
        try:
            context = await tally.begin(request.context)
            table = self._table()
            reach = tally.reach(table)
            entries = reach.within(embedding_entries(table.config, model))
            if not entries:
                raise SwitchyardError(E.ERROR_REASON_NO_ALLOWED_DEPLOYMENT, reach.refusal(model), param="model")
            route = route_pb2.RouteRecord(group=model, strategy=STRATEGY, reason="embedding deployments in order")
            entries = await self._gate(request.request, context, table, entries, route)
            tokens = estimate_tokens(list(request.request.inputs))
            await tally.admit_embedding(route, entries, tokens, max(0.0, deadline - time.monotonic()))
            reply = await self._walk(request, context, entries, route, deadline)
            tally.answered(reply.route, reply.embeddings.usage)
            return reply
        except BaseException as exc:
            tally.failed(exc)
            raise
        finally:
            tally.finish()

    async def _gate(
        self,
        request: embeddings_pb2.EmbeddingRequest,
        context: context_pb2.RequestContext,
        table: RoutingTable,
        entries: tuple[ModelEntry, ...],
        route: route_pb2.RouteRecord,
    ) -> tuple[ModelEntry, ...]:
        """Returns the deployments the inputs may go to, after the classifier's analysis; raises when the
        guard refuses them or residency leaves none (see the module docstring)."""
        chat = as_chat(request)
        guard = table.config.switchyard.guard
        try:
            analysis: classifier_pb2.AnalyzeResponse | None = await self._classifier.analyze(
                chat, context, self._analysis_timeout
            )
        except SwitchyardError as err:
            if err.reason == E.ERROR_REASON_INVALID_REQUEST:
                raise
            analysis, route.analysis_degraded = None, True
        if analysis is None and guard.on_unavailable == "block":
            raise unanalysed(route)
        if analysis is not None and analysis.injection.detected:
            if guard.action != "flag":
                raise injection_refusal(analysis, route)
            route.guard = "flagged"
        facts = facts_of(chat, context, analysis)
        allowed = []
        for entry in entries:
            problem = table.data_problem(entry, facts)
            if problem is None:
                allowed.append(entry)
                continue
            route.attempts.add(
                deployment_id=entry.deployment_id,
                provider=entry.provider,
                model=entry.upstream_model,
                group=entry.model_name,
                outcome=route_pb2.ATTEMPT_OUTCOME_SKIPPED,
                error_reason=E.ERROR_REASON_NO_ALLOWED_DEPLOYMENT,
                error_message=problem,
            )
        if not allowed:
            causes = "; ".join(f"{a.deployment_id}: {a.error_message}" for a in route.attempts)
            raise SwitchyardError(
                E.ERROR_REASON_NO_ALLOWED_DEPLOYMENT,
                f"model '{request.model}': no deployment allowed for this request's data is available: {causes}",
                param="model",
                route=route,
            )
        return tuple(allowed)

    async def _walk(
        self,
        request: router_pb2.EmbedRequest,
        context: context_pb2.RequestContext,
        entries: tuple[ModelEntry, ...],
        route: route_pb2.RouteRecord,
        deadline: float,
    ) -> router_pb2.EmbedResponse:
        """Calls the deployments in order until one answers; returns its embeddings with the route record."""
        last: SwitchyardError | None = None
        for number, entry in enumerate(entries, start=1):
            timeout = deadline - time.monotonic()
            if timeout <= 0:
                break
            attempt = route.attempts.add(
                number=number,
                deployment_id=entry.deployment_id,
                provider=entry.provider,
                model=entry.upstream_model,
                group=entry.model_name,
            )
            started = time.monotonic()
            call = providers_pb2.EmbedRequest(
                deployment_id=entry.deployment_id, request=request.request, request_id=context.request_id
            )
            try:
                answer = await self._providers.embed(call, timeout)
            except SwitchyardError as err:
                attempt.outcome, attempt.error_reason = route_pb2.ATTEMPT_OUTCOME_FAILED, err.reason
                attempt.error_message, attempt.latency_ms = err.message, (time.monotonic() - started) * 1000
                last = err
                if not err.info.failover:
                    break
                continue
            attempt.outcome, attempt.latency_ms = route_pb2.ATTEMPT_OUTCOME_SUCCESS, (time.monotonic() - started) * 1000
            embeddings = answer.embeddings
            if not embeddings.usage.prompt_tokens:
                tokens = estimate_tokens(list(request.request.inputs))
                embeddings.usage.CopyFrom(chat_pb2.Usage(prompt_tokens=tokens, total_tokens=tokens))
            finish_route(route, entry, answer.upstream, embeddings.usage)
            return router_pb2.EmbedResponse(embeddings=embeddings, route=route)
        if last is None:
            last = SwitchyardError(E.ERROR_REASON_DEADLINE_EXCEEDED, "the request ran out of time before a call")
        raise dataclasses.replace(last, route=route)
