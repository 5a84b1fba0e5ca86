"""OpenAI JSON ⇄ protobuf: what the edge accepts and refuses, and what reaches upstreams and clients."""

from __future__ import annotations

from typing import Any

import pytest

from switchyard.common.v1 import chat_pb2, errors_pb2
from switchyard.runtime.errors import SwitchyardError
from switchyard.wire.openai import (
    chunk_from_wire,
    chunk_to_wire,
    completion_from_wire,
    completion_to_wire,
    parse_request,
    request_to_wire,
)
from switchyard.wire.values import MalformedError

TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather now",
        "parameters": {"type": "object", "properties": {"days": {"type": "integer", "minimum": 1}}},
        "strict": True,
    },
}
CONVERSATION: list[dict[str, Any]] = [
    {"role": "system", "content": "Be brief."},
    {
        "role": "user",
        "content": [{"type": "text", "text": "Look"}, {"type": "image_url", "image_url": {"url": "data:x"}}],
    },
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}],
    },
    {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
]


def _refused(body: Any) -> SwitchyardError:
    with pytest.raises(SwitchyardError) as caught:
        parse_request(body)
    assert caught.value.status == 400
    return caught.value


def test_a_full_request_reaches_the_upstream_unchanged() -> None:
    body = {
        "model": "default",
        "messages": CONVERSATION,
        "tools": [TOOL],
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        "response_format": {"type": "json_schema", "json_schema": {"name": "w", "schema": {"type": "object"}}},
        "temperature": 0.2,
        "n": 2,
        "stop": "END",
        "seed": 7,
        "max_tokens": 50,
        "logit_bias": {"50256": -100},
        "user": "u-1",
        "metadata": {"team": "search"},
        "top_k": 5,
    }
    wire = request_to_wire(parse_request(body), "gpt-4o", max_tokens_field="max_completion_tokens")
    assert wire["model"] == "gpt-4o"
    assert wire["messages"] == CONVERSATION
    assert wire["tools"] == [TOOL], "whole numbers in JSON Schema stay integers"
    assert wire["tool_choice"] == body["tool_choice"]
    assert wire["response_format"] == body["response_format"]
    assert (wire["temperature"], wire["n"], wire["stop"], wire["seed"]) == (0.2, 2, ["END"], 7)
    assert wire["max_completion_tokens"] == 50 and "max_tokens" not in wire
    assert wire["logit_bias"] == {"50256": -100} and wire["metadata"] == {"team": "search"}
    assert wire["top_k"] == 5, "provider-specific extras pass through"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": [{"role": "user", "content": "hi"}]}, "model"),
        ({"model": "m", "messages": []}, "messages"),
        ({"model": "m", "messages": [{"role": "robot", "content": "hi"}]}, "messages[0].role"),
        ({"model": "m", "messages": [{"role": "user"}]}, "messages[0].content"),
        ({"model": "m", "messages": [{"role": "tool", "content": "x"}]}, "messages[0].tool_call_id"),
        ({"model": "m", "messages": [{"role": "user", "content": [{"type": "video"}]}]}, "messages[0].content[0].type"),
        ({"model": "m", "messages": [{"role": "user", "content": "hi"}], "temperature": 3}, "temperature"),
        ({"model": "m", "messages": [{"role": "user", "content": "hi"}], "n": True}, "n"),
        ({"model": "m", "messages": [{"role": "user", "content": "hi"}], "stop": ["a"] * 5}, "stop"),
        ({"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream_options": {}}, "stream_options"),
        ({"model": "m", "messages": [{"role": "user", "content": "hi"}], "metadata": {"k": 1}}, "metadata.k"),
        (
            {"model": "m", "messages": [{"role": "user", "content": "hi"}], "tools": [{"type": "function"}]},
            "tools[0].function",
        ),
    ],
)
def test_schema_violations_name_the_parameter(body: dict[str, Any], param: str) -> None:
    assert _refused(body).param == param


def test_a_body_that_is_not_an_object_is_refused() -> None:
    assert "JSON object" in _refused(["not", "an", "object"]).message


UPSTREAM_REPLY = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1,
    "model": "gpt-4o",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"}, "finish_reason": "stop"}],
    "usage": {
        "prompt_tokens": 3,
        "completion_tokens": 1,
        "total_tokens": 4,
        "prompt_tokens_details": {"cached_tokens": 2},
    },
}


def test_upstream_reply_round_trips_to_the_client() -> None:
    client = completion_to_wire(completion_from_wire(UPSTREAM_REPLY))
    assert client["choices"][0] == {
        "index": 0,
        "message": {"role": "assistant", "content": "Hi", "refusal": None},
        "logprobs": None,
        "finish_reason": "stop",
    }
    assert client["usage"]["prompt_tokens_details"]["cached_tokens"] == 2
    assert client["usage"]["total_tokens"] == 4


@pytest.mark.parametrize(
    "broken",
    [
        {**UPSTREAM_REPLY, "choices": []},
        {**UPSTREAM_REPLY, "choices": [{"index": 0, "message": {"content": "x"}, "finish_reason": "exploded"}]},
        {**UPSTREAM_REPLY, "usage": {"prompt_tokens": "three"}},
        {**UPSTREAM_REPLY, "id": None},
        "not an object",
    ],
)
def test_malformed_upstream_replies_are_refused(broken: Any) -> None:
    with pytest.raises(MalformedError):
        completion_from_wire(broken)


def test_chunks_carry_usage_only_when_asked() -> None:
    first = chunk_from_wire(
        {
            "id": "c",
            "created": 1,
            "model": "m",
            "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}],
        }
    )
    usage = chunk_from_wire({"id": "c", "created": 1, "model": "m", "choices": [], "usage": UPSTREAM_REPLY["usage"]})
    assert "usage" not in chunk_to_wire(first, include_usage=False)
    assert chunk_to_wire(first, include_usage=True)["usage"] is None
    assert chunk_to_wire(usage, include_usage=True)["usage"]["total_tokens"] == 4


def test_tool_call_deltas_repeat_nothing_after_the_first() -> None:
    opening = chunk_from_wire(
        {
            "id": "c",
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [
                            {"index": 0, "id": "call_1", "type": "function", "function": {"name": "f", "arguments": ""}}
                        ]
                    },
                }
            ],
        }
    )
    fragment = chunk_from_wire(
        {
            "id": "c",
            "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": '{"a"'}}]}}],
        }
    )
    assert chunk_to_wire(opening, False)["choices"][0]["delta"]["tool_calls"] == [
        {"index": 0, "id": "call_1", "type": "function", "function": {"name": "f", "arguments": ""}}
    ]
    assert chunk_to_wire(fragment, False)["choices"][0]["delta"]["tool_calls"] == [
        {"index": 0, "function": {"arguments": '{"a"'}}
    ]
    assert chunk_to_wire(fragment, False)["choices"][0]["finish_reason"] is None
    assert fragment.choices[0].finish_reason == chat_pb2.FINISH_REASON_UNSPECIFIED


def test_litellm_cache_controls_are_read_and_never_forwarded() -> None:
    from switchyard.wire.openai.requests import CacheDirectives, cache_directives

    body = {
        "model": "m",
        "messages": [{"role": "user", "content": "hi"}],
        "cache": {"no-cache": True, "no-store": True, "ttl": 600, "namespace": "ignored"},
    }
    assert cache_directives(body) == CacheDirectives(no_cache=True, no_store=True, ttl_s=600)
    assert not parse_request(body).HasField("extra")
    assert cache_directives({"model": "m"}) == CacheDirectives()


@pytest.mark.parametrize("cache", ["yes", {"no-cache": "true"}, {"ttl": 0}, {"ttl": 1.5}])
def test_bad_cache_controls_are_an_invalid_request(cache: object) -> None:
    from switchyard.wire.openai.requests import cache_directives

    with pytest.raises(SwitchyardError) as caught:
        cache_directives({"model": "m", "cache": cache})
    assert caught.value.reason == errors_pb2.ERROR_REASON_INVALID_REQUEST
