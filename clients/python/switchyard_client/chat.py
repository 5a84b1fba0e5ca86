"""Chat requests and results in plain Python terms, and their translation to and from the contract."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from switchyard_client.protos.common.v1 import chat_pb2, route_pb2
from switchyard_client.protos.common.v1.context_pb2 import RequestContext
from switchyard_client.protos.router.v1 import router_pb2

_ROLES = {
    "system": chat_pb2.ROLE_SYSTEM,
    "developer": chat_pb2.ROLE_DEVELOPER,
    "user": chat_pb2.ROLE_USER,
    "assistant": chat_pb2.ROLE_ASSISTANT,
    "tool": chat_pb2.ROLE_TOOL,
}
_FINISH_REASONS = {
    chat_pb2.FINISH_REASON_STOP: "stop",
    chat_pb2.FINISH_REASON_LENGTH: "length",
    chat_pb2.FINISH_REASON_TOOL_CALLS: "tool_calls",
    chat_pb2.FINISH_REASON_CONTENT_FILTER: "content_filter",
    chat_pb2.FINISH_REASON_FUNCTION_CALL: "function_call",
}
_CACHE_RESULTS = {
    route_pb2.CACHE_RESULT_HIT: "hit",
    route_pb2.CACHE_RESULT_MISS: "miss",
    route_pb2.CACHE_RESULT_BYPASS: "bypass",
    route_pb2.CACHE_RESULT_ERROR: "error",
}


@dataclass(frozen=True)
class Message:
    """One chat message: role is system, developer, user, assistant or tool."""

    role: str
    content: str
    tool_call_id: str = ""


@dataclass(frozen=True)
class Usage:
    """Token counts, in OpenAI's meaning (prompt tokens include cached ones)."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


@dataclass(frozen=True)
class Route:
    """How the gateway served a request: the group asked for, the deployment that answered, the attempts
    made, the cache's part and the cost."""

    group: str
    deployment_id: str
    model: str
    attempts: int
    cache: str
    cost_usd: float


@dataclass(frozen=True)
class ToolCall:
    """A function the model called; arguments is the JSON text the model wrote."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class ChatResult:
    """A chat completion: the first choice's text, finish reason and tool calls, usage and route.
    `response` is the whole ChatCompletionResponse, for the other choices and fields."""

    id: str
    model: str
    text: str
    finish_reason: str | None
    tool_calls: tuple[ToolCall, ...]
    usage: Usage
    route: Route
    response: router_pb2.ChatCompletionResponse = field(repr=False)


@dataclass(frozen=True)
class ChatChunk:
    """One piece of a streamed completion: the first choice's new text and, at its end, the finish
    reason; usage is set on the usage chunk (no text). `chunk` is the whole ChatCompletionChunk."""

    text: str
    finish_reason: str | None
    usage: Usage | None
    chunk: chat_pb2.ChatCompletionChunk = field(repr=False)


MessageLike = Message | Mapping[str, str]


@dataclass(frozen=True)
class ChatOptions:
    """The sampling options of a chat request (None or empty: the model's default)."""

    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    stop: Sequence[str] = ()
    seed: int | None = None
    user: str = ""


def chat_call(
    model: str, messages: Sequence[MessageLike], options: ChatOptions | None, context: RequestContext | None
) -> router_pb2.ChatCompletionRequest:
    """Returns the unary RPC's request; raises ValueError for a message with an unknown role."""
    return router_pb2.ChatCompletionRequest(request=_request(model, messages, options, stream=False), context=context)


def stream_call(
    model: str, messages: Sequence[MessageLike], options: ChatOptions | None, context: RequestContext | None
) -> router_pb2.StreamChatCompletionRequest:
    """Returns the streaming RPC's request, asking for the usage chunk at its end."""
    request = _request(model, messages, options, stream=True)
    return router_pb2.StreamChatCompletionRequest(request=request, context=context)


def _request(
    model: str, messages: Sequence[MessageLike], options: ChatOptions | None, *, stream: bool
) -> chat_pb2.ChatRequest:
    options = options or ChatOptions()
    request = chat_pb2.ChatRequest(
        model=model, messages=[_message(m) for m in messages], stop=list(options.stop), user=options.user
    )
    for name in ("temperature", "top_p", "max_tokens", "seed"):
        value = getattr(options, name)
        if value is not None:
            setattr(request, name, value)
    if stream:
        request.stream = True
        request.stream_options.include_usage = True
    return request


def _message(given: MessageLike) -> chat_pb2.ChatMessage:
    message = given if isinstance(given, Message) else Message(**given)
    role = _ROLES.get(message.role)
    if role is None:
        raise ValueError(f"unknown message role {message.role!r} (one of {', '.join(_ROLES)})")
    return chat_pb2.ChatMessage(role=role, text=message.content, tool_call_id=message.tool_call_id)


def result_of(response: router_pb2.ChatCompletionResponse) -> ChatResult:
    """Returns the plain result of a ChatCompletion reply."""
    completion = response.completion
    choice = completion.choices[0] if completion.choices else chat_pb2.Choice()
    calls = tuple(ToolCall(c.id, c.function.name, c.function.arguments) for c in choice.message.tool_calls)
    return ChatResult(
        id=completion.id,
        model=completion.model,
        text=choice.message.text,
        finish_reason=_FINISH_REASONS.get(choice.finish_reason),
        tool_calls=calls,
        usage=usage_of(completion.usage),
        route=route_of(response.route),
        response=response,
    )


def chunks_of(message: router_pb2.StreamChatCompletionResponse) -> list[ChatChunk]:
    """Returns the plain chunks one stream message carries (none on the route-only first and last)."""
    return [_chunk(c) for c in message.chunks]


def _chunk(chunk: chat_pb2.ChatCompletionChunk) -> ChatChunk:
    choice = chunk.choices[0] if chunk.choices else chat_pb2.ChunkChoice()
    return ChatChunk(
        text=choice.delta.content,
        finish_reason=_FINISH_REASONS.get(choice.finish_reason),
        usage=usage_of(chunk.usage) if chunk.HasField("usage") else None,
        chunk=chunk,
    )


def usage_of(usage: chat_pb2.Usage) -> Usage:
    return Usage(usage.prompt_tokens, usage.completion_tokens, usage.total_tokens)


def route_of(route: route_pb2.RouteRecord) -> Route:
    return Route(
        group=route.group,
        deployment_id=route.deployment_id,
        model=route.model,
        attempts=len(route.attempts),
        cache=_CACHE_RESULTS.get(route.cache, ""),
        cost_usd=route.cost_usd,
    )
