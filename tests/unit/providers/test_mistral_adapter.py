"""The Mistral adapter: Mistral's field names, 9-character tool-call ids, usage on the last chunk, flat errors."""

from __future__ import annotations

import time
from typing import Any

import orjson
import pytest

from switchyard.common.v1 import chat_pb2, errors_pb2
from switchyard.fakes.mistral_fake import FakeMistral
from switchyard.runtime.errors import SwitchyardError
from switchyard.runtime.telemetry import init_telemetry
from switchyard.services.providers.adapters.base import ClientPool, Deployment
from switchyard.services.providers.adapters.mistral import MistralAdapter, split_usage, tool_call_id
from tests.unit.providers.capture import COMPLETION, CaptureServer

R = errors_pb2.ErrorReason


def _target(api_base: str) -> Deployment:
    return Deployment(
        id="m", group="g", provider="mistral", model="mistral-large-latest", api_base=api_base, api_key="k"
    )


def _ask(**fields: Any) -> chat_pb2.ChatRequest:
    return chat_pb2.ChatRequest(
        model="g", messages=[chat_pb2.ChatMessage(role=chat_pb2.ROLE_USER, text="Hi")], **fields
    )


async def test_body_speaks_mistral() -> None:
    request = _ask(seed=7, max_tokens=20, logprobs=True, user="u", metadata={"app": "a"}, stream=True)
    request.service_tier = "priority"
    request.extra.update({"safe_prompt": True, "top_k": 5})
    async with CaptureServer(COMPLETION) as server:
        clients = ClientPool([server.root])
        adapter = MistralAdapter(clients, init_telemetry("test", ""))
        with pytest.raises(SwitchyardError):  # the canned reply is not a stream; only the request matters here
            async for _ in adapter.stream(_target(server.root), request, time.monotonic() + 5):
                pass
        await clients.aclose()
    sent = server.requests[0]
    assert sent.target == "/chat/completions" and sent.headers["authorization"] == "Bearer k"
    assert sent.body["random_seed"] == 7 and "seed" not in sent.body
    assert sent.body["max_tokens"] == 20 and "max_completion_tokens" not in sent.body
    assert sent.body["safe_prompt"] is True and sent.body["stream"] is True
    assert sent.body["metadata"] == {"app": "a"}
    for gone in ("stream_options", "logprobs", "user", "top_k", "service_tier"):
        assert gone not in sent.body


def test_tool_call_ids_are_nine_alphanumerics_and_stable() -> None:
    assert tool_call_id("aB3dE6gH9") == "aB3dE6gH9"
    mapped = tool_call_id("call_0123456789abcdef")
    assert len(mapped) == 9 and mapped.isalnum() and mapped == tool_call_id("call_0123456789abcdef")
    assert mapped != tool_call_id("toolu_01A")


async def test_foreign_tool_call_ids_are_accepted_by_the_fake() -> None:
    """A conversation that started on OpenAI (ids `call_...`) fails over to Mistral without a 400."""
    request = _ask()
    assistant = request.messages.add(role=chat_pb2.ROLE_ASSISTANT)
    assistant.tool_calls.add(
        id="call_from_openai_123", type="function", function=chat_pb2.FunctionCall(name="f", arguments="{}")
    )
    request.messages.add(role=chat_pb2.ROLE_TOOL, tool_call_id="call_from_openai_123", text='{"ok": true}')
    request.messages.add(role=chat_pb2.ROLE_USER, text="And now?")
    async with FakeMistral.running(port=0) as fake:
        clients = ClientPool([fake.url])
        adapter = MistralAdapter(clients, init_telemetry("test", ""))
        completion, _ = await adapter.generate(_target(fake.url), request, time.monotonic() + 5)
        await clients.aclose()
        sent = fake.requests[-1]["body"]["messages"]
    assert sent[1]["tool_calls"][0]["id"] == sent[2]["tool_call_id"] == tool_call_id("call_from_openai_123")
    assert "And now?" in completion.choices[0].message.text


async def test_the_fake_refuses_what_mistral_refuses() -> None:
    async with FakeMistral.running(port=0) as fake:
        clients = ClientPool([fake.url])
        http = clients.get(fake.url)
        seed = await http.post(f"{fake.url}/chat/completions", json={"model": "m", "messages": [], "seed": 1})
        body = {"model": "m", "messages": [{"role": "tool", "tool_call_id": "call_x", "content": "r"}]}
        bad_id = await http.post(f"{fake.url}/chat/completions", json=body)
        await clients.aclose()
    assert seed.status_code == 422 and seed.json()["message"]["detail"][0]["type"] == "extra_forbidden"
    assert bad_id.status_code == 400 and bad_id.json()["object"] == "error"


def test_usage_on_the_finishing_chunk_is_split_off() -> None:
    chunk = chat_pb2.ChatCompletionChunk(id="c", model="m", created=1)
    chunk.choices.add(index=0, finish_reason=chat_pb2.FINISH_REASON_STOP)
    chunk.usage.prompt_tokens, chunk.usage.completion_tokens, chunk.usage.total_tokens = 3, 2, 5
    finishing, usage = split_usage(chunk)
    assert finishing.choices and not finishing.HasField("usage")
    assert not usage.choices and usage.usage.total_tokens == 5 and usage.id == "c"


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        (
            400,
            {"object": "error", "message": "bad", "type": "invalid_request_error", "param": None, "code": None},
            R.ERROR_REASON_UPSTREAM_BAD_REQUEST,
        ),
        (401, {"message": "Unauthorized", "request_id": "r"}, R.ERROR_REASON_UPSTREAM_AUTH),
        (429, {"message": "Requests rate limit exceeded", "request_id": "r"}, R.ERROR_REASON_UPSTREAM_RATE_LIMITED),
    ],
)
async def test_error_bodies(status: int, body: dict[str, object], reason: int) -> None:
    async with CaptureServer(orjson.dumps(body), status=status) as server:
        clients = ClientPool([server.root])
        adapter = MistralAdapter(clients, init_telemetry("test", ""))
        with pytest.raises(SwitchyardError) as caught:
            await adapter.generate(_target(server.root), _ask(), time.monotonic() + 5)
        await clients.aclose()
    assert caught.value.reason == reason
    assert str(body["message"]) in caught.value.message
