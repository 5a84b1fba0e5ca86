"""Gemini translation: requests out, replies and stream chunks in, error bodies, and SSE framing."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from switchyard.common.v1 import chat_pb2, errors_pb2
from switchyard.runtime.errors import SwitchyardError
from switchyard.services.providers.adapters import gemini_errors, gemini_replies, gemini_requests
from switchyard.services.providers.adapters.gemini import StreamState
from switchyard.services.providers.adapters.gemini_call_ids import SIGNATURE_MARK
from switchyard.wire.openai import parse_request
from switchyard.wire.sse import GeminiSSEParser
from switchyard.wire.values import MalformedError

R = errors_pb2.ErrorReason
F = chat_pb2.FinishReason


def _wire(*messages: dict[str, Any], **body: Any) -> dict[str, Any]:
    return gemini_requests.request_to_wire(parse_request({"model": "m", "messages": list(messages), **body}))


def _call(call_id: str, name: str = "get_weather", arguments: str = '{"city":"Paris"}') -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


# ---------------------------------------------------------------- requests


def test_system_and_developer_become_system_instruction_and_roles_map() -> None:
    body = _wire(
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "developer", "content": [{"type": "text", "text": "Use English."}]},
        {"role": "assistant", "content": "Hello"},
        {"role": "user", "content": "Bye"},
    )
    assert body["systemInstruction"] == {"parts": [{"text": "Be brief."}, {"text": "Use English."}]}
    assert body["contents"] == [
        {"role": "user", "parts": [{"text": "Hi"}]},
        {"role": "model", "parts": [{"text": "Hello"}]},
        {"role": "user", "parts": [{"text": "Bye"}]},
    ]


def test_function_responses_are_named_from_earlier_calls_and_wrapped_as_objects() -> None:
    body = _wire(
        {"role": "user", "content": "Weather and time?"},
        {"role": "assistant", "content": "", "tool_calls": [_call("call_a"), _call("call_b", "get_time", "")]},
        {"role": "tool", "tool_call_id": "call_a", "content": '{"temp_c": 21}'},
        {"role": "tool", "tool_call_id": "call_b", "content": "noon"},
        {"role": "user", "content": "Thanks"},
    )
    assert body["contents"][1] == {
        "role": "model",
        "parts": [
            {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}},
            {"functionCall": {"name": "get_time", "args": {}}},
        ],
    }
    # The tool results and the next user text are one user turn: Gemini wants roles to alternate.
    assert body["contents"][2] == {
        "role": "user",
        "parts": [
            {"functionResponse": {"name": "get_weather", "response": {"temp_c": 21}}},
            {"functionResponse": {"name": "get_time", "response": {"result": "noon"}}},
            {"text": "Thanks"},
        ],
    }
    assert len(body["contents"]) == 3


@pytest.mark.parametrize(("content", "response"), [("[1, 2]", {"result": [1, 2]}), ("42", {"result": 42})])
def test_non_object_json_results_are_wrapped(content: str, response: dict[str, Any]) -> None:
    body = _wire(
        {"role": "user", "content": "x"},
        {"role": "assistant", "tool_calls": [_call("call_a")]},
        {"role": "tool", "tool_call_id": "call_a", "content": content},
    )
    assert body["contents"][-1]["parts"][0]["functionResponse"]["response"] == response


def test_thought_signature_and_upstream_ids_round_trip_through_the_call_id() -> None:
    part = {"functionCall": {"id": "fc-7", "name": "f", "args": {}}, "thoughtSignature": "c2lnbmF0dXJl"}
    (call,) = gemini_replies.candidate_parts({"content": {"parts": [part]}}, "c").calls
    assert call.id == f"fc-7{SIGNATURE_MARK}c2lnbmF0dXJl"
    body = _wire(
        {"role": "user", "content": "x"},
        {"role": "assistant", "tool_calls": [_call(call.id, "f", "{}")]},
        {"role": "tool", "tool_call_id": call.id, "content": "{}"},
    )
    assert body["contents"][1]["parts"] == [
        {"functionCall": {"name": "f", "args": {}, "id": "fc-7"}, "thoughtSignature": "c2lnbmF0dXJl"}
    ]
    assert body["contents"][2]["parts"] == [{"functionResponse": {"name": "f", "response": {}, "id": "fc-7"}}]


def test_unknown_tool_call_id_and_bad_arguments_are_invalid_requests() -> None:
    with pytest.raises(SwitchyardError) as caught:
        _wire({"role": "user", "content": "x"}, {"role": "tool", "tool_call_id": "call_zz", "content": "1"})
    assert caught.value.reason == R.ERROR_REASON_INVALID_REQUEST
    with pytest.raises(SwitchyardError) as caught:
        _wire({"role": "user", "content": "x"}, {"role": "assistant", "tool_calls": [_call("call_a", "f", "[1]")]})
    assert caught.value.param == "messages[1].tool_calls[0].function.arguments"


def test_generation_config_tools_and_tool_choice() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": False}
    body = _wire(
        {"role": "user", "content": "x"},
        temperature=0.5,
        top_p=0.9,
        max_tokens=50,
        stop=["END"],
        n=2,
        seed=7,
        response_format={"type": "json_schema", "json_schema": {"name": "s", "schema": schema}},
        tools=[{"type": "function", "function": {"name": "f", "description": "does f", "parameters": schema}}],
        tool_choice="required",
    )
    assert body["generationConfig"] == {
        "temperature": 0.5,
        "topP": 0.9,
        "maxOutputTokens": 50,
        "stopSequences": ["END"],
        "candidateCount": 2,
        "seed": 7,
        "responseMimeType": "application/json",
        "responseJsonSchema": schema,
    }
    assert body["tools"] == [
        {"functionDeclarations": [{"name": "f", "description": "does f", "parametersJsonSchema": schema}]}
    ]
    assert body["toolConfig"] == {"functionCallingConfig": {"mode": "ANY"}}
    auto = _wire({"role": "user", "content": "x"}, tools=[{"type": "function", "function": {"name": "f"}}])
    assert auto["tools"] == [{"functionDeclarations": [{"name": "f"}]}] and "toolConfig" not in auto


def test_media_parts() -> None:
    content = [
        {"type": "image_url", "image_url": {"url": "data:image/webp;base64,UklGRg=="}},
        {"type": "image_url", "image_url": {"url": "gs://bucket/a.png"}},
        {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}},
    ]
    body = _wire({"role": "user", "content": content})
    assert body["contents"][0]["parts"] == [
        {"inlineData": {"mimeType": "image/webp", "data": "UklGRg=="}},
        {"fileData": {"fileUri": "gs://bucket/a.png", "mimeType": "image/png"}},
        {"inlineData": {"mimeType": "audio/wav", "data": "AAAA"}},
    ]
    with pytest.raises(SwitchyardError) as caught:
        _wire({"role": "user", "content": [{"type": "image_url", "image_url": {"url": "ftp://x/y.png"}}]})
    assert caught.value.param == "messages[0].content[0].image_url.url"


# ---------------------------------------------------------------- replies


def test_completion_maps_text_calls_thoughts_finish_and_usage() -> None:
    raw = {
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [
                        {"text": "thinking...", "thought": True},
                        {"text": "Let me check. "},
                        {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}},
                    ],
                },
                "finishReason": "STOP",
            },
            {"content": {"parts": [{"text": "cut"}]}, "finishReason": "MAX_TOKENS", "index": 1},
        ],
        "usageMetadata": {
            "promptTokenCount": 100,
            "cachedContentTokenCount": 40,
            "toolUsePromptTokenCount": 5,
            "candidatesTokenCount": 20,
            "thoughtsTokenCount": 30,
            "totalTokenCount": 155,
        },
        "modelVersion": "gemini-2.5-flash-001",
        "responseId": "resp-1",
    }
    completion = gemini_replies.completion_from_wire(raw, "gemini-2.5-flash")
    assert (completion.id, completion.model) == ("resp-1", "gemini-2.5-flash-001")
    first, second = completion.choices
    assert first.finish_reason == F.FINISH_REASON_TOOL_CALLS
    assert first.message.text == "Let me check. " and first.message.reasoning == "thinking..."
    assert first.message.tool_calls[0].function.arguments == '{"city":"Paris"}'
    assert first.message.tool_calls[0].id.startswith("call_")
    assert (second.index, second.finish_reason) == (1, F.FINISH_REASON_LENGTH)
    usage = completion.usage
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (105, 50, 155)
    assert usage.prompt_tokens_details.cached_tokens == 40
    assert usage.completion_tokens_details.reasoning_tokens == 30


@pytest.mark.parametrize(
    ("reason", "saw_call", "finish"),
    [
        ("STOP", False, F.FINISH_REASON_STOP),
        ("STOP", True, F.FINISH_REASON_TOOL_CALLS),
        ("MAX_TOKENS", False, F.FINISH_REASON_LENGTH),
        ("SAFETY", False, F.FINISH_REASON_CONTENT_FILTER),
        ("PROHIBITED_CONTENT", True, F.FINISH_REASON_CONTENT_FILTER),
        ("MALFORMED_FUNCTION_CALL", False, F.FINISH_REASON_STOP),
        (None, True, F.FINISH_REASON_UNSPECIFIED),
    ],
)
def test_finish_reasons(reason: str | None, saw_call: bool, finish: int) -> None:
    assert gemini_replies.finish_from_wire(reason, saw_call) == finish


def test_blocked_prompt_is_a_content_filtered_completion_and_empty_reply_is_malformed() -> None:
    completion = gemini_replies.completion_from_wire({"promptFeedback": {"blockReason": "OTHER"}}, "m")
    assert completion.choices[0].finish_reason == F.FINISH_REASON_CONTENT_FILTER
    assert completion.choices[0].message.WhichOneof("content") is None
    for broken in ({}, {"candidates": "x"}, {"candidates": [{"content": {"parts": [{"text": 1}]}}]}, []):
        with pytest.raises(MalformedError):
            gemini_replies.completion_from_wire(broken, "m")


# ---------------------------------------------------------------- errors


def test_error_bodies() -> None:
    bad_key = orjson.dumps(
        [{"error": {"code": 400, "message": "API key not valid.", "status": "INVALID_ARGUMENT", "details": []}}]
    )
    assert gemini_errors.error_from_body(400, bad_key).reason == R.ERROR_REASON_UPSTREAM_AUTH
    retry = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "27.5s"}
    daily = {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{"quotaId": "RequestsPerDay"}]}
    limited = gemini_errors.error_from_body(429, orjson.dumps({"error": {"code": 429, "details": [retry]}}))
    assert (limited.reason, limited.retry_after_s) == (R.ERROR_REASON_UPSTREAM_RATE_LIMITED, 27.5)
    quota = gemini_errors.error_from_body(429, orjson.dumps({"error": {"details": [daily, retry]}}))
    assert quota.reason == R.ERROR_REASON_UPSTREAM_QUOTA_EXHAUSTED
    assert gemini_errors.error_from_body(400, b"<html>bad</html>").reason == R.ERROR_REASON_UPSTREAM_BAD_REQUEST
    assert gemini_errors.error_from_body(503, b"{}").reason == R.ERROR_REASON_UPSTREAM_UNAVAILABLE


# ---------------------------------------------------------------- streams and framing


def _event(**raw: Any) -> bytes:
    return b"data: " + orjson.dumps(raw) + b"\r\n\r\n"


def test_crlf_framing_and_utf8_split_across_reads() -> None:
    text = "Grüße 👋"
    first = _event(candidates=[{"content": {"role": "model", "parts": [{"text": text}]}}], responseId="r")
    last = _event(candidates=[{"finishReason": "STOP"}], usageMetadata={"promptTokenCount": 3})
    stream = first + last
    parser, state = GeminiSSEParser(), StreamState("m")
    chunks: list[chat_pb2.ChatCompletionChunk] = []
    # One byte per read: every CR/LF pair and every multi-byte character is split somewhere.
    for i in range(len(stream)):
        for event in parser.feed(stream[i : i + 1]):
            chunks.extend(state.chunks(orjson.loads(event.data)))
    assert not parser.finish() and not parser.stray
    assert chunks[0].choices[0].delta.role == chat_pb2.ROLE_ASSISTANT
    assert "".join(c.choices[0].delta.content for c in chunks) == text
    assert chunks[-1].choices[0].finish_reason == F.FINISH_REASON_STOP
    assert state.done and {c.id for c in chunks} == {"r"}
    usage = state.usage_chunk()
    assert usage is not None and not usage.choices and usage.usage.prompt_tokens == 3


def test_bare_json_error_lines_are_kept_apart_from_events() -> None:
    parser = GeminiSSEParser()
    events = parser.feed(_event(candidates=[]) + b'{\n  "error": {\n    "code": 503\n  }\n}\n')
    assert len(events) == 1
    assert orjson.loads("\n".join(parser.stray)) == {"error": {"code": 503}}


def test_stream_state_tool_calls_are_indexed_and_finish_as_tool_calls() -> None:
    state = StreamState("m")
    calls = [{"functionCall": {"name": "a", "args": {}}}, {"functionCall": {"name": "b", "args": {"x": 1}}}]
    chunks = state.chunks({"candidates": [{"content": {"role": "model", "parts": calls}}]})
    deltas = chunks[1].choices[0].delta.tool_calls
    assert [(d.index, d.function.name, d.function.arguments) for d in deltas] == [(0, "a", "{}"), (1, "b", '{"x":1}')]
    assert not state.done
    (finish,) = state.chunks({"candidates": [{"finishReason": "STOP"}]})
    assert finish.choices[0].finish_reason == F.FINISH_REASON_TOOL_CALLS and state.done
    assert state.chunks({"candidates": [{"content": {"parts": [{"text": "late"}]}}]}) == []
