"""Anthropic Messages ⇄ protobuf on the edge: requests, validation, replies, usage, stream events and errors."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest

from switchyard.common.v1 import chat_pb2, errors_pb2, route_pb2
from switchyard.runtime.errors import SwitchyardError
from switchyard.services.edge import anthropic as wire

Role = chat_pb2.Role
OLD, NEW = {"anthropic-version": "2023-06-01"}, {"anthropic-version": "2026-10-21"}
WEATHER = {"name": "get_weather", "description": "Weather now", "input_schema": {"type": "object"}}


def _body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"model": "default", "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]}
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def _tool_loop(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"role": "user", "content": "weather in Paris?"},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Let me look."},
                {"type": "thinking", "thinking": "…", "signature": "sig"},
                {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
            ],
        },
        {"role": "user", "content": [result, {"type": "text", "text": "and tomorrow?"}]},
    ]


# ---------------------------------------------------------------- requests


def test_a_full_request_becomes_an_openai_shaped_chat_request() -> None:
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBOR"}}
    remote = {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}}
    body = _body(
        system=[{"type": "text", "text": "Be brief."}, {"type": "text", "text": "Be kind."}],
        messages=[{"role": "user", "content": [{"type": "text", "text": "look"}, image, remote]}],
        stop_sequences=["END"],
        temperature=0.5,
        top_p=0.9,
        top_k=40,
        tools=[WEATHER],
        tool_choice={"type": "tool", "name": "get_weather", "disable_parallel_tool_use": True},
        metadata={"user_id": "user-7"},
    )
    request = wire.parse_request(body, OLD)
    assert request.model == "default" and request.max_tokens == 64
    assert [m.role for m in request.messages] == [Role.ROLE_SYSTEM, Role.ROLE_USER]
    assert request.messages[0].text == "Be brief.\nBe kind."
    urls = [p.image_url.url for p in request.messages[1].parts.parts if p.WhichOneof("part") == "image_url"]
    assert urls == ["data:image/png;base64,iVBOR", "https://example.com/cat.jpg"]
    assert list(request.stop) == ["END"]
    assert (request.temperature, request.top_p, request.extra["top_k"]) == (0.5, 0.9, 40)
    assert request.tools[0].function.name == "get_weather"
    assert request.tools[0].function.description == "Weather now"
    assert request.tool_choice.function_name == "get_weather" and request.parallel_tool_calls is False
    assert request.user == "user-7" and not request.metadata
    assert not request.stream and not request.stream_options.include_usage


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ({"type": "auto"}, ("mode", chat_pb2.TOOL_CHOICE_MODE_AUTO)),
        ({"type": "any"}, ("mode", chat_pb2.TOOL_CHOICE_MODE_REQUIRED)),
        ({"type": "none"}, ("mode", chat_pb2.TOOL_CHOICE_MODE_NONE)),
        ({"type": "tool", "name": "get_weather"}, ("function_name", "get_weather")),
    ],
)
def test_tool_choice_maps_to_openai_modes(choice: dict[str, Any], expected: tuple[str, Any]) -> None:
    request = wire.parse_request(_body(tools=[WEATHER], tool_choice=choice), {})
    field = request.tool_choice.WhichOneof("choice")
    assert (field, getattr(request.tool_choice, field or "mode")) == expected


def test_a_tool_loop_becomes_tool_calls_then_tool_messages_before_the_user_text() -> None:
    result = {"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "18°C"}]}
    request = wire.parse_request(_body(messages=_tool_loop(result), tools=[WEATHER]), {})
    _, assistant, tool, follow_up = request.messages
    assert [m.role for m in request.messages] == [Role.ROLE_USER, Role.ROLE_ASSISTANT, Role.ROLE_TOOL, Role.ROLE_USER]
    assert assistant.text == "Let me look.", "thinking blocks are dropped, text kept"
    call = assistant.tool_calls[0]
    assert (call.id, call.function.name, json.loads(call.function.arguments)) == (
        "toolu_1",
        "get_weather",
        {"city": "Paris"},
    )
    assert (tool.tool_call_id, tool.text) == ("toolu_1", "18°C")
    assert follow_up.parts.parts[0].text.text == "and tomorrow?"


def test_a_failed_tool_says_so_in_its_text() -> None:
    result = {"type": "tool_result", "tool_use_id": "toolu_1", "content": "city unknown", "is_error": True}
    request = wire.parse_request(_body(messages=_tool_loop(result), tools=[WEATHER]), {})
    assert request.messages[2].text == "[tool error] city unknown"


def test_a_stream_asks_the_router_for_usage() -> None:
    request = wire.parse_request(_body(stream=True), {})
    assert request.stream and request.stream_options.include_usage


def test_x_api_key_names_the_key_by_a_short_prefix_only() -> None:
    context = wire.context({"x-api-key": "sk-sy-abcdefghijkl", "x-request-id": "req-1"})
    assert (context.key_prefix, context.request_id) == ("sk-sy-ab", "req-1")


_UNANSWERED = [
    {"role": "user", "content": "hi"},
    {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_9", "name": "get_weather", "input": {}}]},
    {"role": "user", "content": "never mind"},
]
_STRAY_RESULT = [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_x", "content": "1"}]}]


@pytest.mark.parametrize(
    ("changes", "headers", "param"),
    [
        ({"max_tokens": None}, OLD, "max_tokens"),
        ({"max_tokens": 0}, OLD, "max_tokens"),
        ({"max_tokens": "64"}, OLD, "max_tokens"),
        ({"model": None}, OLD, "model"),
        ({"messages": None}, OLD, "messages"),
        ({"messages": []}, OLD, "messages"),
        ({"messages": [{"role": "system", "content": "x"}]}, OLD, "messages.0.role"),
        ({"messages": [{"role": "user", "content": ""}]}, OLD, "messages.0"),
        ({"messages": [{"role": "user", "content": [{"type": "text", "text": ""}]}]}, OLD, "messages.0.content.0"),
        ({"messages": [{"role": "user", "content": [{"type": "tool_use"}]}]}, OLD, "messages.0.content.0.type"),
        ({"messages": _UNANSWERED}, OLD, "messages.1"),
        ({"messages": _STRAY_RESULT}, OLD, "messages.0.content.0"),
        ({"n": 2}, OLD, "n"),
        ({"metadata": {"user_id": "u", "team": "x"}}, OLD, "metadata.team"),
        ({"temperature": 1.5}, OLD, "temperature"),
        ({"temperature": 0.5}, NEW, "temperature"),
        ({"top_k": 5}, NEW, "top_k"),
        ({"tools": [{"name": "x"}]}, OLD, "tools.0.input_schema"),
        ({"tools": [{"type": "web_search_20250305", "name": "web_search"}]}, OLD, "tools.0.type"),
        ({"tools": [WEATHER, WEATHER]}, OLD, "tools"),
        ({"tools": [WEATHER], "tool_choice": {"type": "tool", "name": "nope"}}, OLD, "tool_choice.name"),
        ({"tool_choice": {"type": "any"}}, OLD, "tool_choice"),
        ({"stream": "yes"}, OLD, "stream"),
    ],
)
def test_invalid_requests_are_rejected_naming_the_field(
    changes: dict[str, Any], headers: dict[str, str], param: str
) -> None:
    body = _body(**{k: v for k, v in changes.items() if v is not None})
    for key in (k for k, v in changes.items() if v is None):
        body.pop(key, None)
    with pytest.raises(SwitchyardError) as caught:
        wire.parse_request(body, headers)
    assert caught.value.reason == errors_pb2.ERROR_REASON_INVALID_REQUEST
    assert caught.value.param == param
    assert caught.value.message.startswith(f"{param}: ")


def test_a_final_assistant_turn_may_be_empty_prefill() -> None:
    messages = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": ""}]
    assert [m.role for m in wire.parse_request(_body(messages=messages), {}).messages] == [Role.ROLE_USER]


# ---------------------------------------------------------------- replies


def _completion(
    finish: chat_pb2.FinishReason.ValueType = chat_pb2.FINISH_REASON_STOP, **message: Any
) -> chat_pb2.ChatCompletion:
    usage = chat_pb2.Usage(prompt_tokens=100, completion_tokens=20, total_tokens=120)
    usage.prompt_tokens_details.cached_tokens = 60
    usage.prompt_tokens_details.cache_write_tokens = 10
    choice = chat_pb2.Choice(message=chat_pb2.ChatMessage(role=Role.ROLE_ASSISTANT, **message), finish_reason=finish)
    return chat_pb2.ChatCompletion(id="chatcmpl-1", model="fake-gpt-4o", choices=[choice], usage=usage)


def test_a_completion_renders_as_an_anthropic_message_with_normalised_usage() -> None:
    call = chat_pb2.ToolCall(
        id="call_1", function=chat_pb2.FunctionCall(name="get_weather", arguments='{"city":"Paris"}')
    )
    message = wire.message_to_wire(
        _completion(chat_pb2.FINISH_REASON_TOOL_CALLS, text="Checking.", tool_calls=[call]), "default"
    )
    assert message["id"].startswith("msg_") and message["type"] == "message" and message["role"] == "assistant"
    assert message["model"] == "default", "the model the client asked for, not the upstream one"
    assert message["content"] == [
        {"type": "text", "text": "Checking."},
        {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris"}},
    ]
    assert (message["stop_reason"], message["stop_sequence"]) == ("tool_use", None)
    assert message["usage"] == {
        "input_tokens": 30,
        "output_tokens": 20,
        "cache_creation_input_tokens": 10,
        "cache_read_input_tokens": 60,
    }


@pytest.mark.parametrize(
    ("finish", "stop_reason"),
    [
        (chat_pb2.FINISH_REASON_STOP, "end_turn"),
        (chat_pb2.FINISH_REASON_LENGTH, "max_tokens"),
        (chat_pb2.FINISH_REASON_TOOL_CALLS, "tool_use"),
        (chat_pb2.FINISH_REASON_CONTENT_FILTER, "refusal"),
    ],
)
def test_finish_reasons_map_to_stop_reasons(finish: chat_pb2.FinishReason.ValueType, stop_reason: str) -> None:
    assert wire.message_to_wire(_completion(finish, text="x"), "m")["stop_reason"] == stop_reason


def test_tool_arguments_that_are_not_an_object_are_an_upstream_fault() -> None:
    call = chat_pb2.ToolCall(id="c", function=chat_pb2.FunctionCall(name="f", arguments="[1,"))
    with pytest.raises(SwitchyardError) as caught:
        wire.message_to_wire(_completion(tool_calls=[call]), "m")
    assert caught.value.reason == errors_pb2.ERROR_REASON_UPSTREAM_MALFORMED


# ---------------------------------------------------------------- stream events


def _events(raw: bytes) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for block in raw.decode().split("\n\n"):
        if block:
            name, data = block.split("\n")
            assert name.startswith("event: ") and data.startswith("data: ")
            payload = orjson.loads(data[6:])
            assert payload["type"] == name[7:], "the data type repeats the event name"
            events.append((name[7:], payload))
    return events


def _chunk(
    content: str | None = None,
    tool: tuple[int, str | None, str | None, str | None] | None = None,
    finish: chat_pb2.FinishReason.ValueType = chat_pb2.FINISH_REASON_UNSPECIFIED,
) -> chat_pb2.ChatCompletionChunk:
    chunk = chat_pb2.ChatCompletionChunk(id="chatcmpl-1")
    choice = chunk.choices.add(index=0, finish_reason=finish)
    if content is not None:
        choice.delta.content = content
    if tool is not None:
        index, call_id, name, arguments = tool
        call = choice.delta.tool_calls.add(index=index)
        if call_id is not None:
            call.id, call.function.name = call_id, name or ""
        if arguments is not None:
            call.function.arguments = arguments
    return chunk


def test_text_then_two_tool_calls_stream_as_dense_blocks_in_order() -> None:
    usage = chat_pb2.ChatCompletionChunk(usage=chat_pb2.Usage(prompt_tokens=50, completion_tokens=9, total_tokens=59))
    usage.usage.prompt_tokens_details.cached_tokens = 20
    stream = wire.MessageStream("default")
    raw = stream.begin()
    raw += stream.chunks([_chunk(""), _chunk("Looking "), _chunk("up.")])
    raw += stream.chunks([_chunk(tool=(0, "call_a", "get_weather", "")), _chunk(tool=(0, None, None, '{"city":'))])
    raw += stream.chunks([_chunk(tool=(0, None, None, '"Paris"}')), _chunk(tool=(1, "call_b", "get_time", "{}"))])
    raw += stream.chunks([_chunk(finish=chat_pb2.FINISH_REASON_TOOL_CALLS), usage])
    raw += stream.end()
    events = _events(raw)
    names = [name for name, _ in events]
    assert names[:2] == ["message_start", "ping"] and names[-2:] == ["message_delta", "message_stop"]
    start = events[0][1]["message"]
    assert (start["model"], start["content"], start["stop_reason"]) == ("default", [], None)
    assert start["usage"] == {"input_tokens": 0, "output_tokens": 0}
    blocks = [(p["index"], p["content_block"]) for n, p in events if n == "content_block_start"]
    assert blocks == [
        (0, {"type": "text", "text": ""}),
        (1, {"type": "tool_use", "id": "call_a", "name": "get_weather", "input": {}}),
        (2, {"type": "tool_use", "id": "call_b", "name": "get_time", "input": {}}),
    ]
    deltas = [(p["index"], p["delta"]) for n, p in events if n == "content_block_delta"]
    assert "".join(d["text"] for i, d in deltas if i == 0) == "Looking up."
    assert "".join(d["partial_json"] for i, d in deltas if i == 1) == '{"city":"Paris"}'
    assert [d["partial_json"] for i, d in deltas if i == 2] == ["{}"]
    stops = [p["index"] for n, p in events if n == "content_block_stop"]
    assert stops == [0, 1, 2]
    for index in stops:  # every block starts, receives its deltas, and stops, in that order
        where = [k for k, (n, p) in enumerate(events) if p.get("index") == index]
        assert events[where[0]][0] == "content_block_start" and events[where[-1]][0] == "content_block_stop"
    delta = events[-2][1]
    assert delta["delta"] == {"stop_reason": "tool_use", "stop_sequence": None}
    assert delta["usage"] == {
        "input_tokens": 30,
        "output_tokens": 9,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 20,
    }


def test_a_stream_without_chunks_is_still_a_whole_message() -> None:
    stream = wire.MessageStream("m")
    names = [n for n, _ in _events(stream.begin() + stream.end())]
    assert names == ["message_start", "ping", "message_delta", "message_stop"]


def test_a_broken_stream_ends_with_an_error_event() -> None:
    err = SwitchyardError(errors_pb2.ERROR_REASON_STREAM_INTERRUPTED, "the stream broke")
    [(name, payload)] = _events(wire.MessageStream("m").fail(err))
    assert name == "error"
    assert payload["error"] == {"type": "api_error", "message": "the stream broke"}


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("reason", "status", "error_type"),
    [
        (errors_pb2.ERROR_REASON_INVALID_REQUEST, 400, "invalid_request_error"),
        (errors_pb2.ERROR_REASON_UNAUTHENTICATED, 401, "authentication_error"),
        (errors_pb2.ERROR_REASON_PERMISSION_DENIED, 403, "permission_error"),
        (errors_pb2.ERROR_REASON_MODEL_NOT_FOUND, 404, "not_found_error"),
        (errors_pb2.ERROR_REASON_PAYLOAD_TOO_LARGE, 413, "request_too_large"),
        (errors_pb2.ERROR_REASON_RATE_LIMITED, 429, "rate_limit_error"),
        (errors_pb2.ERROR_REASON_INTERNAL, 500, "api_error"),
        (errors_pb2.ERROR_REASON_ALL_CANDIDATES_FAILED, 502, "api_error"),
        (errors_pb2.ERROR_REASON_UPSTREAM_UNAVAILABLE, 503, "overloaded_error"),
        (errors_pb2.ERROR_REASON_DEADLINE_EXCEEDED, 504, "timeout_error"),
    ],
)
def test_errors_keep_the_taxonomy_status_and_take_an_anthropic_type(
    reason: errors_pb2.ErrorReason.ValueType, status: int, error_type: str
) -> None:
    got_status, headers, body = wire.error_reply(SwitchyardError(reason, "went wrong"), "req-1")
    assert got_status == status
    assert orjson.loads(body) == {
        "type": "error",
        "error": {"type": error_type, "message": "went wrong"},
        "request_id": "req-1",
    }
    assert (b"request-id", b"req-1") in headers and (b"x-request-id", b"req-1") in headers


def test_an_error_carries_retry_after_and_the_attempts_made() -> None:
    route = route_pb2.RouteRecord(deployment_id="solo-1")
    route.attempts.add(number=1, deployment_id="solo-1", provider="openai", model="fake-solo", upstream_status=429)
    err = SwitchyardError(errors_pb2.ERROR_REASON_UPSTREAM_RATE_LIMITED, "slow down", retry_after_s=7, route=route)
    status, headers, body = wire.error_reply(err, "req-2")
    assert status == 429 and (b"retry-after", b"7") in headers
    assert (b"x-switchyard-deployment", b"solo-1") in headers
    error = orjson.loads(body)["error"]
    assert error["type"] == "rate_limit_error"
    assert [(a["model"], a["upstream_status"]) for a in error["attempts"]] == [("fake-solo", 429)]
