"""The Ollama adapter: /api/chat bodies (options, format, images, tool names), replies, NDJSON streams."""

from __future__ import annotations

import time

import orjson
import pytest

from switchyard.common.v1 import chat_pb2, errors_pb2
from switchyard.config import parse_config
from switchyard.fakes.ollama_fake import FakeOllama
from switchyard.runtime.errors import SwitchyardError
from switchyard.runtime.telemetry import init_telemetry
from switchyard.services.providers.adapters import ollama_wire
from switchyard.services.providers.adapters.base import ClientPool, Deployment
from switchyard.services.providers.adapters.ollama import NDJSONParser, OllamaAdapter
from switchyard.services.providers.config import resolve_deployments
from tests.unit.providers.capture import CaptureServer

R = errors_pb2.ErrorReason
DONE = {
    "model": "llama3.2",
    "created_at": "2026-12-07T06:00:00Z",
    "message": {"role": "assistant", "content": "hi"},
    "done": True,
    "done_reason": "stop",
    "eval_count": 4,
}


def _target(api_base: str) -> Deployment:
    return Deployment(id="o", group="g", provider="ollama", model="llama3.2", api_base=api_base)


@pytest.mark.parametrize("prefix", ["ollama", "ollama_chat"])
def test_prefixes_default_to_the_local_server(prefix: str) -> None:
    config = parse_config(f"model_list:\n  - model_name: g\n    litellm_params:\n      model: {prefix}/llama3.2\n")
    (target,) = resolve_deployments(config, {}, quiet=True)
    assert (target.provider, target.model, target.api_base) == ("ollama", "llama3.2", "http://localhost:11434")
    assert target.available


async def test_body_speaks_ollama() -> None:
    request = chat_pb2.ChatRequest(
        model="g",
        temperature=0.5,
        seed=3,
        max_tokens=40,
        stop=["END"],
        response_format=chat_pb2.ResponseFormat(type=chat_pb2.RESPONSE_FORMAT_TYPE_JSON_OBJECT),
    )
    user = request.messages.add(role=chat_pb2.ROLE_USER)
    user.parts.parts.add(text=chat_pb2.TextPart(text="Look"))
    user.parts.parts.add(image_url=chat_pb2.ImageUrlPart(url="data:image/png;base64,iVBORw0KGgo="))
    assistant = request.messages.add(role=chat_pb2.ROLE_ASSISTANT)
    assistant.tool_calls.add(
        id="call_1", type="function", function=chat_pb2.FunctionCall(name="get_weather", arguments='{"city":"Paris"}')
    )
    request.messages.add(role=chat_pb2.ROLE_TOOL, tool_call_id="call_1", text="21C")
    async with CaptureServer(orjson.dumps(DONE)) as server:
        clients = ClientPool([server.root])
        completion, _ = await OllamaAdapter(clients, init_telemetry("test", "")).generate(
            _target(server.root), request, time.monotonic() + 5
        )
        await clients.aclose()
    sent = server.requests[0]
    assert sent.target == "/api/chat" and "authorization" not in sent.headers
    assert sent.body["stream"] is False and sent.body["format"] == "json"
    assert sent.body["options"] == {"temperature": 0.5, "seed": 3, "stop": ["END"], "num_predict": 40}
    first, call, result = sent.body["messages"]
    assert first == {"role": "user", "content": "Look", "images": ["iVBORw0KGgo="]}
    assert call["tool_calls"] == [{"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]
    assert result == {"role": "tool", "content": "21C", "tool_name": "get_weather"}
    # prompt_eval_count is absent when the prompt was cached: zero prompt tokens, not an error.
    assert completion.choices[0].message.text == "hi" and completion.usage.prompt_tokens == 0
    assert completion.usage.completion_tokens == 4 and completion.id.startswith("chatcmpl-ollama-")


def test_image_urls_are_refused_before_the_call() -> None:
    request = chat_pb2.ChatRequest(model="g")
    user = request.messages.add(role=chat_pb2.ROLE_USER)
    user.parts.parts.add(image_url=chat_pb2.ImageUrlPart(url="https://example.org/cat.png"))
    adapter = OllamaAdapter(ClientPool([]), init_telemetry("test", ""))
    with pytest.raises(SwitchyardError) as caught:
        adapter._body(_target("http://x"), request, False)
    assert caught.value.reason == R.ERROR_REASON_INVALID_REQUEST


def test_tool_calls_get_ids_and_finish_as_tool_calls() -> None:
    reply = dict(
        DONE,
        message={
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {"function": {"name": "f", "arguments": {"a": 1}}},
                {"function": {"name": "g", "arguments": {}}},
            ],
        },
    )
    openai = ollama_wire.completion_to_openai(reply, "chatcmpl-x", 1)
    calls = openai["choices"][0]["message"]["tool_calls"]
    assert [c["id"] for c in calls] == ["call_chatcmpl-x_0", "call_chatcmpl-x_1"]
    assert calls[0]["function"]["arguments"] == '{"a":1}'
    assert openai["choices"][0]["finish_reason"] == "tool_calls"


def test_not_done_reply_is_malformed() -> None:
    with pytest.raises(ValueError):
        ollama_wire.completion_to_openai(dict(DONE, done=False), "x", 1)


def test_ndjson_parser_joins_split_lines() -> None:
    parser = NDJSONParser()
    raw = '{"a":"Zürich"}\r\n\n{"b":2}\n'.encode()
    events = parser.feed(raw[:7]) + parser.feed(raw[7:]) + parser.finish()
    assert [e.data for e in events] == ['{"a":"Zürich"}', '{"b":2}']


async def test_probe_lists_tags() -> None:
    async with FakeOllama.running(port=0) as fake:
        clients = ClientPool([fake.url])
        probe = await OllamaAdapter(clients, init_telemetry("test", "")).probe(_target(fake.url), time.monotonic() + 5)
        await clients.aclose()
    assert probe.healthy, probe.message
