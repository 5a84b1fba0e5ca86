"""One conformance suite for every adapter, each run against its own fake over real HTTP.

OpenAI, vLLM, Anthropic, Gemini, Azure OpenAI, Mistral, Ollama, Vertex AI (Gemini and Claude) and Bedrock all
support every case here; a wire format that could not would have to show it as an explicit refusal in its
case, not by leaving the case out.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from switchyard.common.v1 import chat_pb2, errors_pb2
from switchyard.runtime.errors import SwitchyardError
from switchyard.services.providers.adapters.base import Adapter, Deployment
from tests.conformance.bedrock import BEDROCK
from tests.conformance.harness import (
    GOLDEN_TEXT,
    PROVIDERS,
    Provider,
    ReplayServer,
    adapter_for,
    ask,
    deployment,
)
from tests.conformance.vendors import VENDORS
from tests.conformance.vertex import VERTEX

R = errors_pb2.ErrorReason
WEATHER = chat_pb2.Tool(type="function", function=chat_pb2.FunctionDefinition(name="get_weather"))
WEATHER.function.parameters.update({"type": "object", "properties": {"city": {"type": "string"}}})

ALL = [*PROVIDERS, *VENDORS, *VERTEX, BEDROCK]
pytestmark = pytest.mark.parametrize("provider", ALL, ids=[p.name for p in ALL])


async def _stream(adapter: Adapter, target: Deployment, request: chat_pb2.ChatRequest) -> list[Any]:
    request.stream = True
    return [item async for item in adapter.stream(target, request, time.monotonic() + 10)]


def _chunks(items: list[Any]) -> list[chat_pb2.ChatCompletionChunk]:
    return [chunk for item in items if isinstance(item, list) for chunk in item]


def _text(chunks: list[chat_pb2.ChatCompletionChunk]) -> str:
    return "".join(c.choices[0].delta.content for c in chunks if c.choices)


async def _error(call: Any) -> SwitchyardError:
    with pytest.raises(SwitchyardError) as caught:
        await call
    return caught.value


async def test_simple(provider: Provider) -> None:
    async with provider.fake() as fake, adapter_for(provider, provider.api_base(fake)) as adapter:
        completion, record = await adapter.generate(
            deployment(provider, provider.api_base(fake)), ask("Say hello"), time.monotonic() + 10
        )
    assert "Say hello" in completion.choices[0].message.text
    assert completion.choices[0].finish_reason == chat_pb2.FINISH_REASON_STOP
    assert completion.usage.prompt_tokens > 0 and completion.usage.completion_tokens > 0
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens
    assert record.provider == provider.name and record.http_status == 200 and record.latency_ms > 0


async def test_system_prompt_lands_where_the_provider_expects_it(provider: Provider) -> None:
    async with provider.fake() as fake, adapter_for(provider, provider.api_base(fake)) as adapter:
        await adapter.generate(
            deployment(provider, provider.api_base(fake)), ask("Hi", system="Be terse."), time.monotonic() + 10
        )
        body = fake.requests[-1]["body"]
    assert provider.system_prompt(body) == "Be terse."


async def test_multi_turn_answers_the_last_user_turn(provider: Provider) -> None:
    request = ask("First question")
    request.messages.add(role=chat_pb2.ROLE_ASSISTANT, text="First answer")
    request.messages.add(role=chat_pb2.ROLE_USER, text="Second question")
    async with provider.fake() as fake, adapter_for(provider, provider.api_base(fake)) as adapter:
        completion, _ = await adapter.generate(
            deployment(provider, provider.api_base(fake)), request, time.monotonic() + 10
        )
    assert "Second question" in completion.choices[0].message.text


async def test_streaming(provider: Provider) -> None:
    async with provider.fake() as fake, adapter_for(provider, provider.api_base(fake)) as adapter:
        items = await _stream(adapter, deployment(provider, provider.api_base(fake)), ask("Stream this"))
    chunks = _chunks(items)
    assert chunks[0].choices[0].delta.role == chat_pb2.ROLE_ASSISTANT
    assert "Stream this" in _text(chunks)
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == [chat_pb2.FINISH_REASON_STOP]
    assert chunks[-1].HasField("usage") and not chunks[-1].choices, "usage comes last, in its own chunk"
    assert not isinstance(items[-1], list) and items[-1].provider == provider.name


@pytest.mark.parametrize("streamed", [False, True], ids=["plain", "streamed"])
async def test_tool_call_and_tool_result_round_trip(provider: Provider, streamed: bool) -> None:
    async with provider.fake() as fake, adapter_for(provider, provider.api_base(fake)) as adapter:
        target = deployment(provider, provider.api_base(fake))
        request = ask("Please call get_weather for Paris", tools=[WEATHER])
        if streamed:
            chunks = _chunks(await _stream(adapter, target, request))
            deltas = [t for c in chunks if c.choices for t in c.choices[0].delta.tool_calls]
            assert deltas[0].id and deltas[0].function.name == "get_weather"
            call_id, name = deltas[0].id, deltas[0].function.name
            arguments = "".join(t.function.arguments for t in deltas)
            finish = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
            assert finish == [chat_pb2.FINISH_REASON_TOOL_CALLS]
        else:
            completion, _ = await adapter.generate(target, request, time.monotonic() + 10)
            call = completion.choices[0].message.tool_calls[0]
            call_id, name, arguments = call.id, call.function.name, call.function.arguments
            assert completion.choices[0].finish_reason == chat_pb2.FINISH_REASON_TOOL_CALLS
        assert name == "get_weather" and isinstance(json.loads(arguments), dict)
        follow_up = ask("Please call get_weather for Paris", tools=[WEATHER])
        assistant = follow_up.messages.add(role=chat_pb2.ROLE_ASSISTANT)
        assistant.tool_calls.add(
            id=call_id, type="function", function=chat_pb2.FunctionCall(name=name, arguments=arguments)
        )
        follow_up.messages.add(role=chat_pb2.ROLE_TOOL, tool_call_id=call_id, text='{"temperature": 21}')
        follow_up.messages.add(role=chat_pb2.ROLE_USER, text="Thanks, summarise it")
        completion, _ = await adapter.generate(target, follow_up, time.monotonic() + 10)
        sent = json.dumps(fake.requests[-1]["body"])
    assert "temperature" in sent and "21" in sent, "the tool result reached the provider"
    assert "Thanks, summarise it" in completion.choices[0].message.text
    assert completion.choices[0].finish_reason == chat_pb2.FINISH_REASON_STOP


async def test_json_mode(provider: Provider) -> None:
    request = ask(
        "Give me JSON", response_format=chat_pb2.ResponseFormat(type=chat_pb2.RESPONSE_FORMAT_TYPE_JSON_OBJECT)
    )
    async with provider.fake() as fake, adapter_for(provider, provider.api_base(fake)) as adapter:
        completion, _ = await adapter.generate(
            deployment(provider, provider.api_base(fake)), request, time.monotonic() + 10
        )
    assert isinstance(json.loads(completion.choices[0].message.text), dict)


async def test_image_content(provider: Provider) -> None:
    request = chat_pb2.ChatRequest(model="conformance")
    message = request.messages.add(role=chat_pb2.ROLE_USER)
    message.parts.parts.add(text=chat_pb2.TextPart(text="Describe this image"))
    message.parts.parts.add(image_url=chat_pb2.ImageUrlPart(url="data:image/png;base64,iVBORw0KGgo="))
    async with provider.fake() as fake, adapter_for(provider, provider.api_base(fake)) as adapter:
        completion, _ = await adapter.generate(
            deployment(provider, provider.api_base(fake)), request, time.monotonic() + 10
        )
        body = json.dumps(fake.requests[-1]["body"])
    assert "iVBORw0KGgo=" in body, "the image reached the provider"
    assert "Describe this image" in completion.choices[0].message.text


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (400, R.ERROR_REASON_UPSTREAM_BAD_REQUEST),
        (401, R.ERROR_REASON_UPSTREAM_AUTH),
        (403, R.ERROR_REASON_UPSTREAM_AUTH),
        (404, R.ERROR_REASON_UPSTREAM_NOT_FOUND),
        (429, R.ERROR_REASON_UPSTREAM_RATE_LIMITED),
        (500, R.ERROR_REASON_UPSTREAM_UNAVAILABLE),
        (503, R.ERROR_REASON_UPSTREAM_UNAVAILABLE),
        (529, R.ERROR_REASON_UPSTREAM_UNAVAILABLE),
    ],
)
async def test_error_statuses_map_into_the_taxonomy(provider: Provider, status: int, reason: int) -> None:
    async with provider.fake() as fake, adapter_for(provider, provider.api_base(fake)) as adapter:
        fake.script(provider.model, status=status, retry_after="3", **provider.error_script)
        target = deployment(provider, provider.api_base(fake))
        err = await _error(adapter.generate(target, ask("fail please"), time.monotonic() + 10))
        streamed = await _error(_drain(adapter.stream(target, ask("fail please", stream=True), time.monotonic() + 10)))
    assert err.reason == reason and streamed.reason == reason
    assert err.metadata["upstream_status"] == str(status)
    assert err.info.failover == (status != 400)
    if status == 429:
        assert err.retry_after_s == 3.0
    assert "sk-conformance" not in err.message


async def _drain(stream: Any) -> None:
    async for _ in stream:
        pass


async def test_timeout(provider: Provider) -> None:
    async with provider.fake() as fake, adapter_for(provider, provider.api_base(fake)) as adapter:
        fake.script(provider.model, latency_ms=3000, ttft_ms=3000)
        target = deployment(provider, provider.api_base(fake))
        err = await _error(adapter.generate(target, ask("slow"), time.monotonic() + 0.3))
    assert err.reason == R.ERROR_REASON_UPSTREAM_TIMEOUT


async def test_malformed_body_is_refused(provider: Provider) -> None:
    async with provider.fake() as fake, adapter_for(provider, provider.api_base(fake)) as adapter:
        fake.script(provider.model, malformed="json")
        err = await _error(
            adapter.generate(deployment(provider, provider.api_base(fake)), ask("x"), time.monotonic() + 10)
        )
    assert err.reason == R.ERROR_REASON_UPSTREAM_MALFORMED and err.info.failover


async def test_cut_stream_is_an_error_after_the_chunks_that_arrived(provider: Provider) -> None:
    received: list[Any] = []
    async with provider.fake() as fake, adapter_for(provider, provider.api_base(fake)) as adapter:
        fake.script(provider.model, cut_after=2, chunks=6)
        request = ask("cut me")
        request.stream = True
        with pytest.raises(SwitchyardError) as caught:
            async for item in adapter.stream(
                deployment(provider, provider.api_base(fake)), request, time.monotonic() + 10
            ):
                received.append(item)
    assert _chunks(received), "what arrived before the cut was delivered"
    assert caught.value.reason in (R.ERROR_REASON_UPSTREAM_UNAVAILABLE, R.ERROR_REASON_UPSTREAM_MALFORMED)


async def test_mid_stream_error_event(provider: Provider) -> None:
    async with provider.fake() as fake, adapter_for(provider, provider.api_base(fake)) as adapter:
        fake.script(provider.model, mid_stream_error=2, chunks=6)
        request = ask("break mid-stream")
        request.stream = True
        err = await _error(
            _drain(adapter.stream(deployment(provider, provider.api_base(fake)), request, time.monotonic() + 10))
        )
    assert err.reason == R.ERROR_REASON_UPSTREAM_UNAVAILABLE


@pytest.mark.parametrize("case", ["utf8_split", "crlf"])
async def test_golden_transcripts(provider: Provider, case: str) -> None:
    async with ReplayServer(provider.transcripts[case]) as replay:
        api_base = provider.api_base(replay)
        async with adapter_for(provider, api_base) as adapter:
            items = await _stream(adapter, deployment(provider, api_base), ask("replay"))
    chunks = _chunks(items)
    assert _text(chunks) == GOLDEN_TEXT
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == [
        chat_pb2.FINISH_REASON_STOP
    ]
