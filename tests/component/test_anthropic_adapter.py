"""The Anthropic adapter against an in-process fake Anthropic server over real HTTP (and once over real gRPC).

Every request the adapter sends is also checked with the official SDK's own request model
(`MessageCreateParamsNonStreaming`), so a translation bug shows as a realistic 400 from the fake
or a schema failure here, whichever is stricter.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from anthropic.types.message_create_params import MessageCreateParamsNonStreaming
from grpc import aio
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import TypeAdapter

from switchyard.common.v1 import chat_pb2, errors_pb2
from switchyard.fakes.anthropic_fake import FakeAnthropic
from switchyard.providers.v1 import providers_pb2, providers_pb2_grpc
from switchyard.runtime import attributes as attr
from switchyard.runtime import grpcio
from switchyard.runtime.errors import SwitchyardError, from_rpc_error
from switchyard.runtime.telemetry import Telemetry, init_telemetry
from switchyard.services.providers.adapters.anthropic import AnthropicAdapter
from switchyard.services.providers.adapters.base import ClientPool, Deployment
from switchyard.services.providers.servicer import ProviderServicer
from tests.support import free_port, wait_until

R = errors_pb2.ErrorReason
SECRET = "sk-ant-secret-0123456789abcdef"
MODEL = "fake-claude-sonnet"
REPLY = "Switchyard fake reply to: Say hello to the Anthropic adapter"
REQUEST_MODEL = TypeAdapter(MessageCreateParamsNonStreaming)
WEATHER = chat_pb2.Tool(type="function", function=chat_pb2.FunctionDefinition(name="get_weather"))
WEATHER.function.parameters.update({"type": "object", "properties": {"city": {"type": "string"}}})


def _ask(text: str = "Say hello to the Anthropic adapter", **fields: Any) -> chat_pb2.ChatRequest:
    messages = [
        chat_pb2.ChatMessage(role=chat_pb2.ROLE_SYSTEM, text="Be brief."),
        chat_pb2.ChatMessage(role=chat_pb2.ROLE_USER, text=text),
    ]
    return chat_pb2.ChatRequest(model="chat", messages=messages, **fields)


class Rig:
    """The fake, a deployment pointing at it, and adapters speaking each anthropic-version."""

    def __init__(self, fake: FakeAnthropic, clients: ClientPool, telemetry: Telemetry) -> None:
        self.fake = fake
        self.deployment = Deployment(
            id="claude-a", group="chat", provider="anthropic", model=MODEL, api_base=fake.url, api_key=SECRET
        )
        self.v1 = Deployment(
            id="claude-v1", group="chat", provider="anthropic", model=MODEL, api_base=f"{fake.url}/v1", api_key=SECRET
        )
        self.adapter = AnthropicAdapter(clients, telemetry)
        self.new_adapter = AnthropicAdapter(clients, telemetry, versions={"claude-a": "2026-10-21"})

    def sent(self) -> dict[str, Any]:
        """Returns the last body the fake received, after checking it against the SDK's request model."""
        body = dict(self.fake.requests[-1]["body"])
        body.pop("stream", None)
        REQUEST_MODEL.validate_python(body)
        return body

    async def stream(self, request: chat_pb2.ChatRequest, adapter: AnthropicAdapter | None = None) -> list[Any]:
        return [item async for item in (adapter or self.adapter).stream(self.deployment, request, None, "rq-1")]

    async def error(self, call: Any) -> SwitchyardError:
        with pytest.raises(SwitchyardError) as caught:
            await call
        return caught.value


async def _rig(telemetry: Telemetry) -> AsyncIterator[Rig]:
    async with FakeAnthropic.running(port=0) as fake:
        clients = ClientPool([fake.url, f"{fake.url}/v1"])
        yield Rig(fake, clients, telemetry)
        await clients.aclose()


@pytest_asyncio.fixture
async def rig() -> AsyncIterator[Rig]:
    async for running in _rig(init_telemetry("providers", None)):
        yield running


def _chunks(items: list[Any]) -> list[chat_pb2.ChatCompletionChunk]:
    return [c for item in items if isinstance(item, list) for c in item]


async def test_generate_translates_reply_usage_and_record(rig: Rig) -> None:
    completion, record = await rig.adapter.generate(rig.deployment, _ask(max_tokens=60, user="u-7"), None, "rq-1")
    choice = completion.choices[0]
    assert choice.message.text == REPLY and choice.finish_reason == chat_pb2.FINISH_REASON_STOP
    assert completion.id.startswith("msg_fake") and completion.model == MODEL
    usage = completion.usage
    assert usage.prompt_tokens > 0 and usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert (record.provider, record.deployment_id, record.http_status) == ("anthropic", "claude-a", 200)
    assert record.provider_request_id.startswith("req_fake_")
    assert record.quota.limit_requests == 10_000 and 0 < record.quota.reset_requests_ms <= 61_000
    sent = rig.fake.requests[-1]
    assert (sent["auth"], sent["anthropic_version"]) == ("x-api-key", "2023-06-01")
    body = rig.sent()
    assert body["system"] == "Be brief." and body["max_tokens"] == 60
    assert body["metadata"] == {"user_id": "u-7"}
    assert [m["role"] for m in body["messages"]] == ["user"]


async def test_api_base_with_v1_and_the_default_max_tokens(rig: Rig) -> None:
    completion, _ = await rig.adapter.generate(rig.v1, _ask(), None)
    assert completion.choices[0].message.text == REPLY
    assert rig.fake.requests[-1]["path"] == "/v1/messages" and rig.sent()["max_tokens"] == 4096


async def test_2026_version_drops_sampling_knobs_that_2023_forwards(rig: Rig) -> None:
    request = _ask(temperature=1.6, top_p=0.5)
    request.extra.update({"top_k": 5})
    await rig.adapter.generate(rig.deployment, request, None)
    assert {k: rig.sent()[k] for k in ("temperature", "top_p", "top_k")} == {
        "temperature": 1.0,
        "top_p": 0.5,
        "top_k": 5,
    }
    completion, _ = await rig.new_adapter.generate(rig.deployment, request, None)
    assert completion.choices[0].message.text == REPLY
    assert rig.fake.requests[-1]["anthropic_version"] == "2026-10-21"
    assert not {"temperature", "top_p", "top_k"} & set(rig.sent())


async def test_tool_round_trip_through_the_adapter(rig: Rig) -> None:
    ask = _ask("call get_weather for Paris", tools=[WEATHER])
    ask.parallel_tool_calls = False
    called, _ = await rig.adapter.generate(rig.deployment, ask, None)
    choice = called.choices[0]
    assert choice.finish_reason == chat_pb2.FINISH_REASON_TOOL_CALLS and not choice.message.HasField("text")
    call = choice.message.tool_calls[0]
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"city": "city-value"}
    assert rig.sent()["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}
    follow = chat_pb2.ChatRequest(model="chat", tools=[WEATHER])
    follow.messages.extend(ask.messages)
    follow.messages.append(chat_pb2.ChatMessage(role=chat_pb2.ROLE_ASSISTANT, text="", tool_calls=[call]))
    follow.messages.append(chat_pb2.ChatMessage(role=chat_pb2.ROLE_TOOL, tool_call_id=call.id, text="sunny"))
    answer, _ = await rig.adapter.generate(rig.deployment, follow, None)
    assert answer.choices[0].message.text == "Switchyard fake reply to: tool result sunny"
    turns = rig.sent()["messages"]
    assert turns[1] == {
        "role": "assistant",
        "content": [{"type": "tool_use", "id": call.id, "name": "get_weather", "input": {"city": "city-value"}}],
    }
    assert turns[2]["content"][0]["type"] == "tool_result"


async def test_json_object_is_asked_for_in_the_system_prompt(rig: Rig) -> None:
    request = _ask(response_format=chat_pb2.ResponseFormat(type=chat_pb2.RESPONSE_FORMAT_TYPE_JSON_OBJECT))
    completion, _ = await rig.adapter.generate(rig.deployment, request, None)
    assert json.loads(completion.choices[0].message.text) == {"reply": REPLY}
    assert "response_format" not in rig.sent() and "JSON object" in rig.sent()["system"]


async def test_stream_chunks_tool_indices_usage_chunk_and_record(rig: Rig) -> None:
    items = await rig.stream(_ask("explain, then call get_weather", tools=[WEATHER], stream=True))
    *batches, record = items
    assert isinstance(record, providers_pb2.UpstreamRecord) and record.ttft_ms > 0
    chunks = _chunks(batches)
    assert chunks[0].choices[0].delta.role == chat_pb2.ROLE_ASSISTANT
    assert "".join(c.choices[0].delta.content for c in chunks if c.choices) == "Let me call get_weather."
    calls = [t for c in chunks if c.choices for t in c.choices[0].delta.tool_calls]
    assert {t.index for t in calls} == {0}, "the tool call is index 0 although its content block is 1"
    assert calls[0].id.startswith("toolu_fake") and calls[0].function.name == "get_weather"
    assert json.loads("".join(t.function.arguments for t in calls)) == {"city": "city-value"}
    assert all(t.function.arguments for t in calls[1:]), "empty partial_json fragments are skipped"
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == [chat_pb2.FINISH_REASON_TOOL_CALLS]
    assert not chunks[-1].choices and chunks[-1].usage.completion_tokens > 1 and chunks[-1].usage.prompt_tokens > 0
    assert rig.fake.requests[-1]["body"]["stream"] is True


async def test_stream_batches_follow_network_reads(rig: Rig) -> None:
    items = await rig.stream(_ask(stream=True))
    assert len(items) == 2, "a reply that arrives in one read travels as one batch"
    rig.fake.script(MODEL, times=1, chunk_delay_ms=5, chunks=3)
    assert len(await rig.stream(_ask(stream=True))) >= 5


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (400, R.ERROR_REASON_UPSTREAM_BAD_REQUEST),
        (401, R.ERROR_REASON_UPSTREAM_AUTH),
        (403, R.ERROR_REASON_UPSTREAM_AUTH),
        (413, R.ERROR_REASON_UPSTREAM_BAD_REQUEST),
        (402, R.ERROR_REASON_UPSTREAM_QUOTA_EXHAUSTED),
        (500, R.ERROR_REASON_UPSTREAM_UNAVAILABLE),
        (529, R.ERROR_REASON_UPSTREAM_UNAVAILABLE),
    ],
)
async def test_error_statuses_map_to_the_taxonomy(rig: Rig, status: int, reason: int) -> None:
    rig.fake.script(MODEL, times=2, status=status, retry_after="2")
    error = await rig.error(rig.adapter.generate(rig.deployment, _ask(), None))
    assert error.reason == reason and error.metadata["upstream_status"] == str(status)
    assert error.metadata["provider"] == "anthropic" and SECRET not in error.message
    streamed = await rig.error(rig.stream(_ask(stream=True)))
    assert streamed.reason == reason


async def test_429_is_rate_limited_with_retry_after(rig: Rig) -> None:
    rig.fake.script(MODEL, times=1, status=429, retry_after="3")
    error = await rig.error(rig.adapter.generate(rig.deployment, _ask(), None))
    assert error.reason == R.ERROR_REASON_UPSTREAM_RATE_LIMITED and error.retry_after_s == 3.0
    assert error.metadata["upstream_type"] == "rate_limit_error"


async def test_a_request_the_api_rejects_is_upstream_bad_request(rig: Rig) -> None:
    request = _ask()
    request.messages.append(chat_pb2.ChatMessage(role=chat_pb2.ROLE_ASSISTANT, tool_calls=[_call("toolu_x")]))
    request.messages.append(chat_pb2.ChatMessage(role=chat_pb2.ROLE_USER, text="and now?"))
    error = await rig.error(rig.adapter.generate(rig.deployment, request, None))
    assert error.reason == R.ERROR_REASON_UPSTREAM_BAD_REQUEST and "tool_result" in error.message


def _call(call_id: str) -> chat_pb2.ToolCall:
    return chat_pb2.ToolCall(id=call_id, type="function", function=chat_pb2.FunctionCall(name="f", arguments="{}"))


@pytest.mark.parametrize("kind", ["json", "schema"])
async def test_malformed_replies_are_upstream_malformed(rig: Rig, kind: str) -> None:
    rig.fake.script(MODEL, times=2, malformed=kind)
    error = await rig.error(rig.adapter.generate(rig.deployment, _ask(), None))
    assert error.reason == R.ERROR_REASON_UPSTREAM_MALFORMED
    streamed = await rig.error(rig.stream(_ask(stream=True)))
    assert streamed.reason == R.ERROR_REASON_UPSTREAM_MALFORMED


async def test_mid_stream_error_event_and_cut_stream(rig: Rig) -> None:
    rig.fake.script(MODEL, times=1, mid_stream_error=3)
    error = await rig.error(rig.stream(_ask(stream=True)))
    assert error.reason == R.ERROR_REASON_UPSTREAM_UNAVAILABLE and "overloaded_error" in error.message
    rig.fake.script(MODEL, times=1, cut_after=4, chunk_delay_ms=2)
    cut = await rig.error(rig.stream(_ask(stream=True)))
    assert cut.reason in (R.ERROR_REASON_UPSTREAM_UNAVAILABLE, R.ERROR_REASON_UPSTREAM_MALFORMED)


async def test_deadline_closes_the_upstream_call_and_probe(rig: Rig) -> None:
    rig.fake.script(MODEL, times=1, latency_ms=3000)
    error = await rig.error(rig.adapter.generate(rig.deployment, _ask(), time.monotonic() + 0.3))
    assert error.reason == R.ERROR_REASON_UPSTREAM_TIMEOUT
    await wait_until(lambda: rig.fake.requests[-1]["disconnected"], 5.0, "the timed-out upstream call to close")
    healthy = await rig.adapter.probe(rig.deployment, None)
    assert healthy.healthy and healthy.latency_ms > 0
    dead = Deployment(
        id="dead", group="chat", provider="anthropic", model=MODEL, api_base=f"http://127.0.0.1:{free_port()}"
    )
    unreachable = await AnthropicAdapter(ClientPool([dead.api_base]), init_telemetry("p", None)).probe(dead, None)
    assert not unreachable.healthy and "connect" in unreachable.message


async def test_span_and_trace_context() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    async for rig in _rig(Telemetry("providers", True, provider.get_tracer("test"))):
        await rig.adapter.generate(rig.deployment, _ask(), None)
        await rig.stream(_ask(stream=True))
        traceparents = [r["traceparent"] for r in rig.fake.requests]
    spans = [s for s in exporter.get_finished_spans() if s.name == f"chat {MODEL}"]
    assert len(spans) == 2
    for span, traceparent in zip(spans, traceparents, strict=True):
        attributes = dict(span.attributes or {})
        assert attributes[attr.GEN_AI_PROVIDER_NAME] == "anthropic"
        assert str(attributes[attr.GEN_AI_RESPONSE_ID]).startswith("msg_fake")
        assert tuple(attributes[attr.GEN_AI_RESPONSE_FINISH_REASONS]) == ("stop",)  # type: ignore[arg-type]
        assert int(attributes[attr.GEN_AI_USAGE_INPUT_TOKENS]) > 0  # type: ignore[arg-type]
        assert traceparent and f"{span.context.trace_id:032x}" in traceparent


async def test_through_the_providers_grpc_service(rig: Rig) -> None:
    server = grpcio.new_server(init_telemetry("providers", None))
    servicer = ProviderServicer([rig.deployment], {"anthropic": rig.adapter})
    providers_pb2_grpc.add_ProviderServiceServicer_to_server(servicer, server)
    port = grpcio.bind(server, "127.0.0.1", 0)
    await server.start()
    try:
        async with aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = providers_pb2_grpc.ProviderServiceStub(channel)
            reply = await stub.Generate(
                providers_pb2.GenerateRequest(deployment_id="claude-a", request=_ask()), timeout=10
            )
            assert reply.completion.choices[0].message.text == REPLY and reply.upstream.provider == "anthropic"
            rig.fake.script(MODEL, times=1, status=529)
            with pytest.raises(aio.AioRpcError) as caught:
                await stub.Generate(providers_pb2.GenerateRequest(deployment_id="claude-a", request=_ask()), timeout=10)
            assert from_rpc_error(caught.value).reason == R.ERROR_REASON_UPSTREAM_UNAVAILABLE
    finally:
        await server.stop(None)
