"""OpenAI-shaped protobuf ⇄ Anthropic Messages JSON: requests, replies, usage, stop reasons and stream events."""

from __future__ import annotations

import json
from typing import Any

import pytest

from switchyard.common.v1 import chat_pb2, errors_pb2
from switchyard.runtime.errors import SwitchyardError
from switchyard.services.providers.adapters.anthropic import error_from_response, messages_url, quota_from_headers
from switchyard.services.providers.adapters.anthropic_stream import StreamErrorEvent, StreamTranslator
from switchyard.services.providers.adapters.anthropic_wire import (
    completion_from_wire,
    finish_from_wire,
    request_to_wire,
    usage_from_wire,
)
from switchyard.services.providers.adapters.base import Deployment
from switchyard.wire.sse import SSEParser
from switchyard.wire.values import MalformedError

R = errors_pb2.ErrorReason
Role = chat_pb2.Role
F = chat_pb2.FinishReason


def _msg(role: int, text: str | None = None, **fields: Any) -> chat_pb2.ChatMessage:
    message = chat_pb2.ChatMessage(role=role, **fields)  # type: ignore[arg-type]
    if text is not None:
        message.text = text
    return message


def _call(call_id: str, name: str, arguments: str) -> chat_pb2.ToolCall:
    return chat_pb2.ToolCall(
        id=call_id, type="function", function=chat_pb2.FunctionCall(name=name, arguments=arguments)
    )


def _body(*messages: chat_pb2.ChatMessage, **fields: Any) -> dict[str, Any]:
    return request_to_wire(chat_pb2.ChatRequest(model="g", messages=messages, **fields), "claude-x")


# ---------------------------------------------------------------- requests


def test_system_and_developer_messages_become_the_top_level_system() -> None:
    body = _body(
        _msg(Role.ROLE_SYSTEM, "Be brief."),
        _msg(Role.ROLE_USER, "hi"),
        _msg(Role.ROLE_DEVELOPER, "Use French."),
    )
    assert body["system"] == "Be brief.\n\nUse French."
    assert body["messages"] == [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]
    assert body["max_tokens"] == 4096 and body["model"] == "claude-x"


def test_consecutive_same_role_turns_merge_and_empty_text_is_dropped() -> None:
    body = _body(
        _msg(Role.ROLE_USER, "one"),
        _msg(Role.ROLE_USER, "two"),
        _msg(Role.ROLE_ASSISTANT, ""),
        _msg(Role.ROLE_ASSISTANT, "three"),
    )
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "three"}]},
    ]


def test_tool_calls_and_results_are_placed_where_anthropic_requires() -> None:
    calls = [_call("toolu_1", "get_weather", '{"city":"Paris"}'), _call("toolu_2", "get_time", "")]
    body = _body(
        _msg(Role.ROLE_USER, "weather and time?"),
        _msg(Role.ROLE_ASSISTANT, "", tool_calls=calls),
        _msg(Role.ROLE_TOOL, "sunny", tool_call_id="toolu_1"),
        _msg(Role.ROLE_TOOL, "noon", tool_call_id="toolu_2"),
        _msg(Role.ROLE_USER, "thanks"),
    )
    assistant, results = body["messages"][1:]
    assert assistant == {
        "role": "assistant",
        "content": [
            {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
            {"type": "tool_use", "id": "toolu_2", "name": "get_time", "input": {}},
        ],
    }
    assert [b["type"] for b in results["content"]] == ["tool_result", "tool_result", "text"]
    assert results["content"][0] == {
        "type": "tool_result",
        "tool_use_id": "toolu_1",
        "content": [{"type": "text", "text": "sunny"}],
    }


def test_tool_arguments_that_are_not_an_object_are_an_invalid_request() -> None:
    with pytest.raises(SwitchyardError) as caught:
        _body(_msg(Role.ROLE_USER, "x"), _msg(Role.ROLE_ASSISTANT, tool_calls=[_call("t", "f", "[1]")]))
    assert caught.value.reason == R.ERROR_REASON_INVALID_REQUEST
    assert caught.value.param == "messages[1].tool_calls[0].function.arguments"


def test_images_parameters_tools_and_tool_choice() -> None:
    user = _msg(Role.ROLE_USER)
    user.parts.parts.add().text.text = "what is this?"
    user.parts.parts.add().image_url.url = "data:image/png;base64,iVBORw0KGgo="
    user.parts.parts.add().image_url.url = "https://example.com/cat.jpg"
    tool = chat_pb2.Tool(type="function", function=chat_pb2.FunctionDefinition(name="f", description="does f"))
    body = _body(
        user,
        tools=[tool],
        tool_choice=chat_pb2.ToolChoice(mode=chat_pb2.TOOL_CHOICE_MODE_REQUIRED),
        stop=["END"],
        max_completion_tokens=99,
        max_tokens=5,
        user="u-1",
        metadata={"team": "blue"},
        temperature=1.5,
        seed=3,
    )
    assert body["messages"][0]["content"][1:] == [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
    ]
    assert body["tools"] == [{"name": "f", "input_schema": {"type": "object"}, "description": "does f"}]
    assert body["tool_choice"] == {"type": "any"}
    assert (body["stop_sequences"], body["max_tokens"], body["temperature"]) == (["END"], 99, 1.0)
    assert body["metadata"] == {"user_id": "u-1"}, "OpenAI metadata is never forwarded"
    assert "seed" not in body
    named = _body(_msg(Role.ROLE_USER, "x"), tools=[tool], tool_choice=chat_pb2.ToolChoice(function_name="f"))
    assert named["tool_choice"] == {"type": "tool", "name": "f"}
    none = _body(_msg(Role.ROLE_USER, "x"), tools=[tool], tool_choice=chat_pb2.ToolChoice(mode=1))
    assert none["tool_choice"] == {"type": "none"}


def test_2026_version_removes_sampling_and_stream_is_flagged() -> None:
    request = chat_pb2.ChatRequest(model="g", messages=[_msg(Role.ROLE_USER, "x")], temperature=0.2, top_p=0.9)
    assert "temperature" in request_to_wire(request, "m", "2023-06-01")
    body = request_to_wire(request, "m", "2026-10-21", stream=True)
    assert not {"temperature", "top_p", "top_k"} & set(body) and body["stream"] is True


def test_n_above_one_is_rejected() -> None:
    with pytest.raises(SwitchyardError) as caught:
        _body(_msg(Role.ROLE_USER, "x"), n=2)
    assert caught.value.param == "n"


# ---------------------------------------------------------------- replies


def test_usage_is_normalised_to_openai_meaning() -> None:
    usage = usage_from_wire(
        {"input_tokens": 10, "cache_creation_input_tokens": 200, "cache_read_input_tokens": 3000, "output_tokens": 7}
    )
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (3210, 7, 3217)
    assert usage.prompt_tokens_details.cached_tokens == 3000
    assert usage.prompt_tokens_details.cache_write_tokens == 200


@pytest.mark.parametrize(
    ("stop", "finish"),
    [
        ("end_turn", F.FINISH_REASON_STOP),
        ("stop_sequence", F.FINISH_REASON_STOP),
        ("pause_turn", F.FINISH_REASON_STOP),
        ("max_tokens", F.FINISH_REASON_LENGTH),
        ("model_context_window_exceeded", F.FINISH_REASON_LENGTH),
        ("tool_use", F.FINISH_REASON_TOOL_CALLS),
        ("refusal", F.FINISH_REASON_CONTENT_FILTER),
        (None, F.FINISH_REASON_UNSPECIFIED),
    ],
)
def test_stop_reasons(stop: str | None, finish: int) -> None:
    assert finish_from_wire(stop) == finish


def test_reply_with_text_and_tool_use() -> None:
    raw = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-x",
        "content": [
            {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Zürich"}},
        ],
        "stop_reason": "tool_use",
        "usage": {"input_tokens": 5, "output_tokens": 9},
    }
    completion = completion_from_wire(raw, created=1)
    message = completion.choices[0].message
    assert message.text == "Checking." and completion.choices[0].finish_reason == F.FINISH_REASON_TOOL_CALLS
    assert message.tool_calls[0].id == "toolu_1" and json.loads(message.tool_calls[0].function.arguments) == {
        "city": "Zürich"
    }
    only_tool = dict(raw, content=raw["content"][1:])
    assert not completion_from_wire(only_tool).choices[0].message.HasField("text")


@pytest.mark.parametrize(
    "raw",
    [
        {"type": "error"},
        {"type": "message", "id": "m", "model": "x", "content": "none", "usage": {}},
        {"type": "message", "id": "m", "model": "x", "content": [{"type": "text"}], "usage": {}},
        {"type": "message", "id": "m", "model": "x", "content": [], "usage": {"input_tokens": "5"}},
    ],
)
def test_malformed_replies_raise(raw: dict[str, Any]) -> None:
    with pytest.raises(MalformedError):
        completion_from_wire(raw)


# ---------------------------------------------------------------- streams


def _frame(name: str, data: dict[str, Any], eol: str = "\n") -> bytes:
    return f"event: {name}{eol}data: {json.dumps({'type': name, **data}, ensure_ascii=False)}{eol}{eol}".encode()


def _transcript(eol: str = "\n") -> bytes:
    start = {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x", "content": []}
    start["usage"] = {"input_tokens": 10, "cache_read_input_tokens": 90, "output_tokens": 1}
    events = [
        ("message_start", {"message": start}),
        ("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}),
        ("ping", {}),
        ("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": "Grüße — "}}),
        ("content_block_stop", {"index": 0}),
        (
            "content_block_start",
            {"index": 1, "content_block": {"type": "tool_use", "id": "toolu_a", "name": "f", "input": {}}},
        ),
        ("content_block_delta", {"index": 1, "delta": {"type": "input_json_delta", "partial_json": ""}}),
        ("content_block_delta", {"index": 1, "delta": {"type": "input_json_delta", "partial_json": '{"q": "é'}}),
        ("content_block_delta", {"index": 1, "delta": {"type": "input_json_delta", "partial_json": '"}'}}),
        ("content_block_stop", {"index": 1}),
        (
            "content_block_start",
            {"index": 2, "content_block": {"type": "tool_use", "id": "toolu_b", "name": "g", "input": {}}},
        ),
        ("content_block_delta", {"index": 2, "delta": {"type": "input_json_delta", "partial_json": "{}"}}),
        ("content_block_stop", {"index": 2}),
        ("message_delta", {"delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 5}}),
        ("message_delta", {"delta": {}, "usage": {"output_tokens": 12}}),
        ("message_stop", {}),
    ]
    return b"".join(_frame(name, data, eol) for name, data in events)


def _translate(reads: list[bytes]) -> tuple[StreamTranslator, list[chat_pb2.ChatCompletionChunk]]:
    parser, translator = SSEParser(), StreamTranslator(created=1)
    chunks = []
    for read in reads:
        for event in parser.feed(read):
            chunks.extend(translator.feed(event.event, event.data))
    for event in parser.finish():
        chunks.extend(translator.feed(event.event, event.data))
    return translator, chunks


def _check_transcript(translator: StreamTranslator, chunks: list[chat_pb2.ChatCompletionChunk]) -> None:
    assert translator.done
    assert chunks[0].choices[0].delta.role == Role.ROLE_ASSISTANT and chunks[0].id == "msg_1"
    assert "".join(c.choices[0].delta.content for c in chunks if c.choices) == "Grüße — "
    calls = [t for c in chunks if c.choices for t in c.choices[0].delta.tool_calls]
    assert [(t.index, t.id, t.function.name) for t in calls if t.id] == [(0, "toolu_a", "f"), (1, "toolu_b", "g")]
    assert "".join(t.function.arguments for t in calls if t.index == 0) == '{"q": "é"}'
    assert all(t.function.arguments for t in calls if not t.id), "empty fragments are skipped"
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == [F.FINISH_REASON_TOOL_CALLS]
    usage = chunks[-1]
    assert not usage.choices, "the stream ends with the usage-only chunk"
    assert (usage.usage.prompt_tokens, usage.usage.completion_tokens, usage.usage.total_tokens) == (100, 12, 112)
    assert usage.usage.prompt_tokens_details.cached_tokens == 90


def test_stream_translation_in_one_read() -> None:
    _check_transcript(*_translate([_transcript()]))


def test_stream_translation_byte_by_byte_splits_utf8_and_crlf() -> None:
    data = _transcript("\r\n")
    _check_transcript(*_translate([data[i : i + 1] for i in range(len(data))]))


def test_cut_stream_is_not_done() -> None:
    data = _transcript()
    translator, chunks = _translate([data[: data.index(b"event: message_delta")]])
    assert not translator.done and chunks and all(c.choices for c in chunks)


def test_error_event_and_out_of_order_events() -> None:
    translator = StreamTranslator()
    with pytest.raises(MalformedError):
        translator.feed("content_block_delta", '{"type":"content_block_delta","index":0,"delta":{}}')
    error = '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'
    with pytest.raises(StreamErrorEvent) as caught:
        translator.feed("error", error)
    assert (caught.value.kind, caught.value.message) == ("overloaded_error", "Overloaded")
    translator.feed("message_start", '{"message":{"id":"m","model":"x","usage":{}}}')
    with pytest.raises(MalformedError):
        translator.feed("content_block_delta", '{"index":3,"delta":{"type":"text_delta","text":"x"}}')
    assert translator.feed("brand_new_event", '{"type":"brand_new_event"}') == []


# ---------------------------------------------------------------- HTTP details


def test_messages_url_quota_and_errors() -> None:
    assert messages_url("https://api.anthropic.com") == "https://api.anthropic.com/v1/messages"
    assert messages_url("http://127.0.0.1:9/v1/") == "http://127.0.0.1:9/v1/messages"
    quota = quota_from_headers(
        {
            "anthropic-ratelimit-requests-limit": "50",
            "anthropic-ratelimit-requests-remaining": "49",
            "anthropic-ratelimit-requests-reset": "2026-01-01T00:00:30Z",
            "anthropic-ratelimit-tokens-remaining": "nope",
        },
        now=1767225600.0,  # 2026-01-01T00:00:00Z
    )
    assert (quota.limit_requests, quota.remaining_requests, quota.reset_requests_ms) == (50, 49, 30_000)
    assert (quota.remaining_tokens, quota.limit_tokens, quota.reset_tokens_ms) == (-1, -1, -1)
    deployment = Deployment(id="c", group="g", provider="anthropic", model="m", api_base="x", api_key="sk-ant-k")
    long_prompt = b'{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 2 > 1"}}'
    assert error_from_response(400, long_prompt, {}, deployment=deployment).reason == (
        R.ERROR_REASON_CONTEXT_WINDOW_EXCEEDED
    )
    overloaded = b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'
    error = error_from_response(529, overloaded, {"retry-after": "4"}, deployment=deployment)
    assert error.reason == R.ERROR_REASON_UPSTREAM_UNAVAILABLE and error.retry_after_s == 4.0
    assert error.metadata["upstream_type"] == "overloaded_error" and "Overloaded" in error.message
