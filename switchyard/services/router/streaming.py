"""A streamed chat completion: the walk's call opens an upstream stream and waits for its first token;
once one has answered, its stream is relayed to the client and its pass settled however it ends.

Nothing reaches the client before a deployment sent its first token, so a failure or a stall past
the first-token deadline (`stream_timeout`) fails over unseen; a failure after it ends the stream
with STREAM_INTERRUPTED, never a normal end. After the first token two more clocks run: a gap
between chunks longer than `stream_idle_timeout` (a slow drip or a stall) and the request's deadline
(request_timeout) each end the stream that way, and each counts toward the deployment's circuit, so
a deployment that drips opens its circuit like one that fails.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncGenerator, Callable

from switchyard.common.v1 import chat_pb2
from switchyard.common.v1 import errors_pb2 as E
from switchyard.config import ModelEntry, RouterSettings
from switchyard.providers.v1 import providers_pb2
from switchyard.router.v1 import router_pb2
from switchyard.runtime.errors import SwitchyardError
from switchyard.services.router.gate import Gate
from switchyard.services.router.governance.tally import Tally
from switchyard.services.router.peers import Providers
from switchyard.services.router.record import counted_usage, finish_route
from switchyard.services.router.replay import assemble, first_token
from switchyard.services.router.walk import Answer, Call, Prepared

StreamMessage = providers_pb2.StreamGenerateResponse
Upstream = AsyncGenerator[StreamMessage, None]
# StreamStart: the messages read up to the first token, and the rest of the upstream stream.
StreamStart = tuple[list[StreamMessage], Upstream]


def first_token_call(
    providers: Providers,
    request: providers_pb2.StreamGenerateRequest,
    settings: RouterSettings,
    deadline: float,
) -> Call[StreamStart]:
    """Returns the walk's call for a streamed request: it opens the deployment's stream and returns once
    the first token arrived, raising UPSTREAM_TIMEOUT (so the walk fails over) when none comes within
    the deployment's stream_timeout (router_settings', else the call's timeout)."""

    async def call(entry: ModelEntry, timeout: float) -> StreamStart:
        # A request of its own per call: a hedged group has two calls in flight at once.
        own = providers_pb2.StreamGenerateRequest()
        own.CopyFrom(request)
        own.deployment_id = entry.deployment_id
        upstream = providers.stream(own, max(deadline - time.monotonic(), 0.001))
        stream_timeout = entry.litellm_params.stream_timeout or settings.stream_timeout
        limit = min(stream_timeout, deadline - time.monotonic()) if stream_timeout else timeout
        try:
            return await first_token(upstream, limit), upstream
        except TimeoutError:
            await upstream.aclose()
            if time.monotonic() >= deadline:
                raise
            if not providers.connected():
                raise providers.unreachable() from None
            raise _no_first_token(entry, limit) from None
        except BaseException:
            await upstream.aclose()
            raise

    return call


async def close_stream(start: StreamStart) -> None:
    """Cancels the upstream call of a stream that is not relayed (a hedged attempt that lost)."""
    await start[1].aclose()


async def relay(
    prep: Prepared,
    answer: Answer[StreamStart],
    tally: Tally,
    gate: Gate,
    done: Callable[[chat_pb2.ChatCompletion], None],
    *,
    deadline: float,
) -> AsyncGenerator[router_pb2.StreamChatCompletionResponse, None]:
    """Yields a started stream (the messages read up to its first token, then the rest), then the route;
    hands the assembled completion to `done` (cache store, shadow copy) once the route is out.

    Its pass is settled however the stream ends: complete, broken, or abandoned by the client; a stream
    that ends early still costs what it relayed (`_settle_relayed`), since the provider bills it.
    """
    entry, (head, upstream) = answer.entry, answer.result
    include_usage = prep.request.stream_options.include_usage
    prep.route.deployment_id, prep.route.provider = entry.deployment_id, entry.provider
    prep.route.model = entry.upstream_model
    pending = deque(head)
    collected: list[chat_pb2.ChatCompletionChunk] = []
    record: providers_pb2.UpstreamRecord | None = None
    completion: chat_pb2.ChatCompletion | None = None
    failure: SwitchyardError | None = None
    first = True
    idle = prep.policies.config.router_settings.stream_idle_timeout
    try:
        while (batch := pending.popleft() if pending else await _next(upstream, entry, idle, deadline)) is not None:
            collected.extend(batch.chunks)
            visible = [c for c in batch.chunks if include_usage or c.choices or not c.HasField("usage")]
            if visible or first:
                message = router_pb2.StreamChatCompletionResponse(chunks=visible)
                if first:
                    message.route.CopyFrom(prep.route)
                    first = False
                    tally.first_token()
                yield message
            if batch.HasField("upstream"):
                record = batch.upstream
        completion = assemble(collected)
        if not (completion.usage.prompt_tokens or completion.usage.completion_tokens):
            # The provider sent no usage: the router counts the tokens, so the stream is still priced.
            completion.usage.CopyFrom(counted_usage(completion, prep.facts.prompt_tokens))
    except SwitchyardError as err:
        failure = err
        raise SwitchyardError(
            E.ERROR_REASON_STREAM_INTERRUPTED,
            f"the stream from {entry.deployment_id} broke after it started: {err.message}",
            metadata=err.metadata,
            route=prep.route,
        ) from None
    finally:
        if completion is not None:
            total_ms = (time.monotonic() - answer.started) * 1000
            tokens = completion.usage.total_tokens
            gate.succeeded(answer.admitted, tokens, total_ms, answer.attempt.latency_ms, record)
        elif failure is not None:
            gate.failed_later(answer.admitted, failure, prep.policies.circuit)
        else:
            gate.release(answer.admitted)
        if completion is None:
            _settle_relayed(prep, entry, record, collected, tally)
        await upstream.aclose()
    assert completion is not None
    finish_route(prep.route, entry, record, completion.usage)
    tally.answered(prep.route, completion.usage)
    yield router_pb2.StreamChatCompletionResponse(route=prep.route)
    done(completion)


def _settle_relayed(
    prep: Prepared,
    entry: ModelEntry,
    record: providers_pb2.UpstreamRecord | None,
    collected: list[chat_pb2.ChatCompletionChunk],
    tally: Tally,
) -> None:
    """Prices a stream cut by its upstream or abandoned by its client at what was relayed: the provider's
    usage when a chunk carried it, else the router's count of the relayed text plus the prompt estimate.
    Its hold settles at that cost, so stopping short of the last chunk is no way around a budget."""
    partial = assemble(collected)
    usage = partial.usage
    if not (usage.prompt_tokens or usage.completion_tokens):
        usage = counted_usage(partial, prep.facts.prompt_tokens)
    finish_route(prep.route, entry, record, usage)
    tally.relayed(prep.route, usage)


async def _next(upstream: Upstream, entry: ModelEntry, idle: float, deadline: float) -> StreamMessage | None:
    """Returns the upstream's next message (None at its end); raises UPSTREAM_TIMEOUT when none comes
    within `idle` seconds, DEADLINE_EXCEEDED when the request's deadline comes first."""
    left = deadline - time.monotonic()
    try:
        async with asyncio.timeout(max(min(idle, left), 0.001)):
            return await anext(upstream, None)
    except TimeoutError:
        if idle < left:
            raise _idle(entry, idle) from None
        raise SwitchyardError(
            E.ERROR_REASON_DEADLINE_EXCEEDED,
            f"the stream from {entry.deployment_id} was still running at the request's deadline",
            metadata={"provider": entry.provider, "deployment_id": entry.deployment_id},
        ) from None


def _idle(entry: ModelEntry, idle: float) -> SwitchyardError:
    return SwitchyardError(
        E.ERROR_REASON_UPSTREAM_TIMEOUT,
        f"{entry.provider} deployment {entry.deployment_id} sent nothing for {idle:.3g}s (stream_idle_timeout)",
        metadata={"provider": entry.provider, "deployment_id": entry.deployment_id},
    )


def _no_first_token(entry: ModelEntry, limit: float) -> SwitchyardError:
    return SwitchyardError(
        E.ERROR_REASON_UPSTREAM_TIMEOUT,
        f"{entry.provider} deployment {entry.deployment_id} sent no first token within {limit:.3g}s",
        metadata={"provider": entry.provider, "deployment_id": entry.deployment_id},
    )
