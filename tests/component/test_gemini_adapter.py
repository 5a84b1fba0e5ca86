"""The Gemini adapter against the in-process fake Gemini over real HTTP.

Every request the adapter sends is also checked with google-genai's own models (`types.Content`,
`GenerationConfig`, `Tool`, `ToolConfig`, which forbid unknown keys), so a translation the live API
would not understand fails here even where the fake is lenient.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from google.genai import types
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from switchyard.common.v1 import chat_pb2, embeddings_pb2, errors_pb2
from switchyard.fakes.embeddings import vector
from switchyard.fakes.gemini_fake import FakeGemini
from switchyard.providers.v1 import providers_pb2
from switchyard.runtime import attributes as attr
from switchyard.runtime.errors import SwitchyardError
from switchyard.runtime.telemetry import Telemetry, init_telemetry
from switchyard.services.providers.adapters.base import ClientPool, Deployment
from switchyard.services.providers.adapters.gemini import GeminiAdapter
from switchyard.wire.openai import parse_request

R = errors_pb2.ErrorReason
F = chat_pb2.FinishReason
KEY = "AIza-component-test-key-0123456789"
MODEL = "fake-gemini-2.5-flash"
REPLY = "Switchyard fake reply to: Say hello to Gemini"
REPLY_TOKENS = -(-len(REPLY) // 4)  # the fake counts ⌈chars / 4⌉
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather of a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": False,
        },
    },
}


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeGemini]:
    async with FakeGemini.running(port=0, api_key=KEY) as running:
        yield running


@pytest_asyncio.fixture
async def pool(fake: FakeGemini) -> AsyncIterator[ClientPool]:
    clients = ClientPool([fake.url, f"{fake.url}/v1"])
    yield clients
    await clients.aclose()


@pytest.fixture
def adapter(pool: ClientPool) -> GeminiAdapter:
    return GeminiAdapter(pool, init_telemetry("providers", None))


def _deployment(fake: FakeGemini, **changes: Any) -> Deployment:
    fields: dict[str, Any] = {
        "id": "gemini-a",
        "group": "chat",
        "provider": "gemini",
        "model": MODEL,
        "api_base": fake.url,
        "api_key": KEY,
    }
    return Deployment(**(fields | changes))


def _request(*messages: dict[str, Any], **body: Any) -> chat_pb2.ChatRequest:
    return parse_request({"model": "chat", "messages": list(messages), **body})


def _user(text: str = "Say hello to Gemini") -> dict[str, Any]:
    return {"role": "user", "content": text}


def _sent(fake: FakeGemini) -> dict[str, Any]:
    """Returns the last body the fake received, after checking it with google-genai's strict models."""
    body: dict[str, Any] = fake.requests[-1]["body"]
    for content in body["contents"]:
        types.Content.model_validate(content)
    if "systemInstruction" in body:
        types.Content.model_validate(body["systemInstruction"])
    if "generationConfig" in body:
        types.GenerationConfig.model_validate(body["generationConfig"])
    for tool in body.get("tools", ()):
        types.Tool.model_validate(tool)
    if "toolConfig" in body:
        types.ToolConfig.model_validate(body["toolConfig"])
    return body


async def _stream(
    adapter: GeminiAdapter, deployment: Deployment, request: chat_pb2.ChatRequest
) -> tuple[list[list[chat_pb2.ChatCompletionChunk]], providers_pb2.UpstreamRecord]:
    batches: list[list[chat_pb2.ChatCompletionChunk]] = []
    record = None
    async for item in adapter.stream(deployment, request, None):
        if isinstance(item, providers_pb2.UpstreamRecord):
            record = item
        else:
            batches.append(item)
    assert record is not None
    return batches, record


async def _error(call: Any) -> SwitchyardError:
    with pytest.raises(SwitchyardError) as caught:
        await call
    return caught.value


async def _stream_error(adapter: GeminiAdapter, deployment: Deployment, request: chat_pb2.ChatRequest) -> Any:
    return await _error(_stream(adapter, deployment, request))


# ---------------------------------------------------------------- text


async def test_text_with_system_prompt(adapter: GeminiAdapter, fake: FakeGemini) -> None:
    request = _request({"role": "system", "content": "Be brief."}, _user(), temperature=0.3, max_tokens=100)
    completion, record = await adapter.generate(_deployment(fake), request, None)
    assert completion.choices[0].message.text == REPLY
    assert completion.choices[0].message.role == chat_pb2.ROLE_ASSISTANT
    assert completion.choices[0].finish_reason == F.FINISH_REASON_STOP
    assert completion.model == MODEL and completion.id == "fake-gemini-00000001"
    usage = completion.usage
    assert usage.prompt_tokens > 0 and usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert record.provider == "gemini" and record.http_status == 200
    assert record.provider_request_id == "fake-gemini-00000001"
    logged = fake.requests[-1]
    assert logged["path"] == f"/v1beta/models/{MODEL}:generateContent" and logged["api_key"]
    body = _sent(fake)
    assert body["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    assert body["contents"] == [{"role": "user", "parts": [{"text": "Say hello to Gemini"}]}]
    assert body["generationConfig"] == {"temperature": 0.3, "maxOutputTokens": 100}


async def test_api_version_v1_by_adapter_or_api_base(pool: ClientPool, fake: FakeGemini) -> None:
    v1 = GeminiAdapter(pool, init_telemetry("providers", None), api_version="v1")
    await v1.generate(_deployment(fake), _request(_user()), None)
    assert fake.requests[-1]["path"] == f"/v1/models/{MODEL}:generateContent"
    default = GeminiAdapter(pool, init_telemetry("providers", None))
    await default.generate(_deployment(fake, api_base=f"{fake.url}/v1"), _request(_user()), None)
    assert fake.requests[-1]["path"] == f"/v1/models/{MODEL}:generateContent"
    await v1.generate(_deployment(fake, api_version="v1beta"), _request(_user()), None)
    assert fake.requests[-1]["path"] == f"/v1beta/models/{MODEL}:generateContent"
    with pytest.raises(ValueError, match="v2"):
        GeminiAdapter(pool, init_telemetry("providers", None), api_version="v2")


async def test_multi_turn_maps_roles_and_merges_turns(adapter: GeminiAdapter, fake: FakeGemini) -> None:
    request = _request(
        {"role": "developer", "content": "Answer in English."},
        _user("Hi"),
        {"role": "assistant", "content": "Hello!"},
        _user("One more thing."),
        _user("Say hello to Gemini"),
    )
    completion, _ = await adapter.generate(_deployment(fake), request, None)
    assert completion.choices[0].message.text == "Switchyard fake reply to: One more thing. Say hello to Gemini"
    body = _sent(fake)
    assert [c["role"] for c in body["contents"]] == ["user", "model", "user"]
    assert body["contents"][2]["parts"] == [{"text": "One more thing."}, {"text": "Say hello to Gemini"}]


async def test_stream_text_role_first_then_deltas_then_usage(adapter: GeminiAdapter, fake: FakeGemini) -> None:
    batches, record = await _stream(adapter, _deployment(fake), _request(_user(), stream=True))
    chunks = [c for batch in batches for c in batch]
    assert chunks[0].choices[0].delta.role == chat_pb2.ROLE_ASSISTANT
    choices = [c.choices[0] for c in chunks if c.choices]
    assert "".join(c.delta.content for c in choices) == REPLY
    assert [c.finish_reason for c in choices] == [F.FINISH_REASON_UNSPECIFIED] * (len(choices) - 1) + [
        F.FINISH_REASON_STOP
    ]
    assert not chunks[-1].choices and chunks[-1].usage.completion_tokens > 0
    assert len({c.id for c in chunks}) == 1
    assert record.http_status == 200 and record.provider_request_id == "fake-gemini-00000001"
    assert fake.requests[-1]["query"] == "alt=sse" and fake.requests[-1]["completed"]


# ---------------------------------------------------------------- tools


async def test_tool_call_and_tool_result_round_trip(adapter: GeminiAdapter, fake: FakeGemini) -> None:
    ask = _user("Please call get_weather for Paris")
    completion, _ = await adapter.generate(_deployment(fake), _request(ask, tools=[WEATHER]), None)
    choice = completion.choices[0]
    assert choice.finish_reason == F.FINISH_REASON_TOOL_CALLS
    assert choice.message.WhichOneof("content") is None
    (call,) = choice.message.tool_calls
    assert call.id.startswith("call_") and call.type == "function"
    assert (call.function.name, json.loads(call.function.arguments)) == ("get_weather", {"city": "city-value"})
    declaration = _sent(fake)["tools"][0]["functionDeclarations"][0]
    assert declaration["parametersJsonSchema"]["additionalProperties"] is False
    assistant = {"role": "assistant", "content": None, "tool_calls": [json.loads(_call_json(call))]}
    follow = _request(ask, assistant, {"role": "tool", "tool_call_id": call.id, "content": "sunny"}, tools=[WEATHER])
    reply, _ = await adapter.generate(_deployment(fake), follow, None)
    assert reply.choices[0].message.text == 'Switchyard fake reply to: tool result {"result":"sunny"}'
    assert reply.choices[0].finish_reason == F.FINISH_REASON_STOP
    body = _sent(fake)
    assert body["contents"][1] == {
        "role": "model",
        "parts": [{"functionCall": {"name": "get_weather", "args": {"city": "city-value"}}}],
    }
    assert body["contents"][2] == {
        "role": "user",
        "parts": [{"functionResponse": {"name": "get_weather", "response": {"result": "sunny"}}}],
    }


def _call_json(call: chat_pb2.ToolCall) -> str:
    return json.dumps(
        {
            "id": call.id,
            "type": "function",
            "function": {"name": call.function.name, "arguments": call.function.arguments},
        }
    )


async def test_streamed_tool_call_becomes_tool_calls(adapter: GeminiAdapter, fake: FakeGemini) -> None:
    tools = [WEATHER, {"type": "function", "function": {"name": "get_time"}}]
    request = _request(_user("call get_time, then call get_weather"), tools=tools, stream=True)
    batches, _ = await _stream(adapter, _deployment(fake), request)
    chunks = [c for batch in batches for c in batch if c.choices]
    deltas = [d for c in chunks for d in c.choices[0].delta.tool_calls]
    assert [(d.index, d.function.name) for d in deltas] == [(0, "get_time"), (1, "get_weather")]
    assert all(d.id.startswith("call_") and d.type == "function" for d in deltas)
    assert json.loads(deltas[1].function.arguments) == {"city": "city-value"}
    # The finish came as STOP in a content-less chunk after the calls: the saw-a-call flag makes it tool_calls.
    assert chunks[-1].choices[0].finish_reason == F.FINISH_REASON_TOOL_CALLS
    assert [c.choices[0].finish_reason for c in chunks[:-1]] == [F.FINISH_REASON_UNSPECIFIED] * (len(chunks) - 1)


async def test_tool_choice_maps_to_function_calling_config(adapter: GeminiAdapter, fake: FakeGemini) -> None:
    named = {"type": "function", "function": {"name": "get_weather"}}
    completion, _ = await adapter.generate(
        _deployment(fake), _request(_user(), tools=[WEATHER], tool_choice=named), None
    )
    assert completion.choices[0].message.tool_calls[0].function.name == "get_weather"
    config = _sent(fake)["toolConfig"]["functionCallingConfig"]
    assert config == {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}
    none, _ = await adapter.generate(
        _deployment(fake), _request(_user("call get_weather"), tools=[WEATHER], tool_choice="none"), None
    )
    assert not none.choices[0].message.tool_calls
    assert _sent(fake)["toolConfig"]["functionCallingConfig"] == {"mode": "NONE"}


# ---------------------------------------------------------------- formats and content


async def test_json_mode_and_json_schema(adapter: GeminiAdapter, fake: FakeGemini) -> None:
    completion, _ = await adapter.generate(
        _deployment(fake), _request(_user(), response_format={"type": "json_object"}), None
    )
    assert json.loads(completion.choices[0].message.text) == {"reply": REPLY}
    assert _sent(fake)["generationConfig"] == {"responseMimeType": "application/json"}
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}, "additionalProperties": False}
    response_format = {"type": "json_schema", "json_schema": {"name": "a", "schema": schema}}
    completion, _ = await adapter.generate(_deployment(fake), _request(_user(), response_format=response_format), None)
    assert json.loads(completion.choices[0].message.text) == {"answer": "answer-value"}
    assert _sent(fake)["generationConfig"]["responseJsonSchema"] == schema


async def test_image_content_becomes_inline_or_file_data(adapter: GeminiAdapter, fake: FakeGemini) -> None:
    content = [
        {"type": "text", "text": "What is in these?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
    ]
    await adapter.generate(_deployment(fake), _request({"role": "user", "content": content}), None)
    assert _sent(fake)["contents"][0]["parts"] == [
        {"text": "What is in these?"},
        {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
        {"fileData": {"fileUri": "https://example.com/cat.jpg", "mimeType": "image/jpeg"}},
    ]


# ---------------------------------------------------------------- finish reasons and usage


@pytest.mark.parametrize("option", ["safety", "blocked"])
async def test_safety_and_blocked_prompt_are_content_filter(
    adapter: GeminiAdapter, fake: FakeGemini, option: str
) -> None:
    fake.script(MODEL, times=2, **{option: True})
    completion, _ = await adapter.generate(_deployment(fake), _request(_user()), None)
    assert completion.choices[0].finish_reason == F.FINISH_REASON_CONTENT_FILTER
    assert completion.choices[0].message.WhichOneof("content") is None
    batches, _ = await _stream(adapter, _deployment(fake), _request(_user(), stream=True))
    chunks = [c for batch in batches for c in batch]
    assert chunks[0].choices[0].delta.role == chat_pb2.ROLE_ASSISTANT
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == F.FINISH_REASON_CONTENT_FILTER
    assert chunks[-1].usage.prompt_tokens > 0


async def test_max_tokens_is_length(adapter: GeminiAdapter, fake: FakeGemini) -> None:
    completion, _ = await adapter.generate(_deployment(fake), _request(_user(), max_completion_tokens=2), None)
    assert completion.choices[0].finish_reason == F.FINISH_REASON_LENGTH
    assert _sent(fake)["generationConfig"] == {"maxOutputTokens": 2}


async def test_usage_counts_thoughts_as_reasoning(adapter: GeminiAdapter, fake: FakeGemini) -> None:
    fake.script(MODEL, times=2, thoughts=7)
    plain, _ = await adapter.generate(_deployment(fake), _request(_user()), None)
    usage = plain.usage
    assert usage.completion_tokens_details.reasoning_tokens == 7
    assert usage.completion_tokens == 7 + REPLY_TOKENS
    batches, _ = await _stream(adapter, _deployment(fake), _request(_user(), stream=True))
    assert batches[-1][-1].usage == usage


# ---------------------------------------------------------------- errors


async def test_bad_key_is_upstream_auth_and_is_redacted(adapter: GeminiAdapter, fake: FakeGemini) -> None:
    err = await _error(adapter.generate(_deployment(fake, api_key="AIza-wrong-key-000000000"), _request(_user()), None))
    assert err.reason == R.ERROR_REASON_UPSTREAM_AUTH
    assert err.metadata["upstream_status"] == "400" and err.metadata["upstream_code"] == "INVALID_ARGUMENT"
    assert "AIza-wrong" not in err.message
    missing = await _error(adapter.generate(_deployment(fake, api_key=None), _request(_user()), None))
    assert missing.reason == R.ERROR_REASON_UPSTREAM_AUTH and missing.metadata["upstream_status"] == "403"


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (400, R.ERROR_REASON_UPSTREAM_BAD_REQUEST),
        (404, R.ERROR_REASON_UPSTREAM_NOT_FOUND),
        (429, R.ERROR_REASON_UPSTREAM_RATE_LIMITED),
        (500, R.ERROR_REASON_UPSTREAM_UNAVAILABLE),
        (503, R.ERROR_REASON_UPSTREAM_UNAVAILABLE),
    ],
)
async def test_error_statuses_map_to_the_taxonomy(
    adapter: GeminiAdapter, fake: FakeGemini, status: int, reason: int
) -> None:
    fake.script(MODEL, times=2, status=status, retry_after="27s")
    err = await _error(adapter.generate(_deployment(fake), _request(_user()), None))
    assert err.reason == reason and err.metadata["provider"] == "gemini"
    assert err.retry_after_s == (27.0 if status == 429 else None)
    streamed = await _stream_error(adapter, _deployment(fake), _request(_user(), stream=True))
    assert streamed.reason == reason


async def test_daily_quota_is_quota_exhausted(adapter: GeminiAdapter, fake: FakeGemini) -> None:
    fake.script(MODEL, times=1, status=429)
    err = await _error(adapter.generate(_deployment(fake), _request(_user()), None))
    assert err.reason == R.ERROR_REASON_UPSTREAM_RATE_LIMITED and err.retry_after_s == 1.0


@pytest.mark.parametrize("kind", ["json", "schema"])
async def test_malformed_replies_are_upstream_malformed(adapter: GeminiAdapter, fake: FakeGemini, kind: str) -> None:
    fake.script(MODEL, times=2, malformed=kind)
    err = await _error(adapter.generate(_deployment(fake), _request(_user()), None))
    assert err.reason == R.ERROR_REASON_UPSTREAM_MALFORMED
    streamed = await _stream_error(adapter, _deployment(fake), _request(_user(), stream=True))
    assert streamed.reason == R.ERROR_REASON_UPSTREAM_MALFORMED


async def test_cut_stream_is_unavailable(adapter: GeminiAdapter, fake: FakeGemini) -> None:
    fake.script(MODEL, times=1, cut_after=2, chunk_delay_ms=1)
    received: list[list[chat_pb2.ChatCompletionChunk]] = []
    with pytest.raises(SwitchyardError) as caught:
        async for item in adapter.stream(_deployment(fake), _request(_user(), stream=True), None):
            if isinstance(item, list):
                received.append(item)
    assert caught.value.reason == R.ERROR_REASON_UPSTREAM_UNAVAILABLE
    assert received and fake.requests[-1]["cut"]


async def test_mid_stream_error_is_unavailable(adapter: GeminiAdapter, fake: FakeGemini) -> None:
    fake.script(MODEL, times=1, mid_stream_error=1)
    err = await _stream_error(adapter, _deployment(fake), _request(_user(), stream=True))
    assert err.reason == R.ERROR_REASON_UPSTREAM_UNAVAILABLE
    assert "overloaded" in err.message


async def test_invalid_tool_reference_is_invalid_request(adapter: GeminiAdapter, fake: FakeGemini) -> None:
    orphan = _request(_user(), {"role": "tool", "tool_call_id": "call_unknown", "content": "x"})
    err = await _error(adapter.generate(_deployment(fake), orphan, None))
    assert err.reason == R.ERROR_REASON_INVALID_REQUEST and err.param == "messages[1].tool_call_id"
    assert fake.requests == []


# ---------------------------------------------------------------- probe and spans


async def test_probe(adapter: GeminiAdapter, fake: FakeGemini) -> None:
    assert (await adapter.probe(_deployment(fake), None)).healthy
    dead = await adapter.probe(_deployment(fake, api_key="AIza-wrong-key-000000000"), None)
    assert not dead.healthy


async def test_spans_carry_gen_ai_attributes(pool: ClientPool, fake: FakeGemini) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    adapter = GeminiAdapter(pool, Telemetry("providers", True, provider.get_tracer("test")))
    await adapter.generate(_deployment(fake), _request(_user()), None)
    await _stream(adapter, _deployment(fake), _request(_user(), stream=True, max_tokens=64, temperature=0.5))
    fake.script(MODEL, times=1, status=503)
    await _error(adapter.generate(_deployment(fake), _request(_user()), None))
    spans = [s for s in exporter.get_finished_spans() if s.name == f"chat {MODEL}"]
    assert len(spans) == 3
    for span in spans[:2]:
        attributes = dict(span.attributes or {})
        # The OpenTelemetry GenAI conventions' name for the Gemini API, and the upstream it was called at.
        assert attributes[attr.GEN_AI_PROVIDER_NAME] == attributes[attr.GEN_AI_SYSTEM] == "gcp.gemini"
        assert attributes[attr.SERVER_ADDRESS] == "127.0.0.1"
        assert attributes[attr.GEN_AI_RESPONSE_MODEL]
        assert attributes[attr.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
        assert int(attributes[attr.GEN_AI_USAGE_INPUT_TOKENS]) > 0  # type: ignore[arg-type]
        assert attributes[attr.GEN_AI_USAGE_OUTPUT_TOKENS] == REPLY_TOKENS
    streamed = dict(spans[1].attributes or {})
    assert streamed[attr.GEN_AI_REQUEST_MAX_TOKENS] == 64
    assert streamed[attr.GEN_AI_REQUEST_TEMPERATURE] == 0.5
    assert attr.GEN_AI_REQUEST_MAX_TOKENS not in dict(spans[0].attributes or {})
    assert dict(spans[2].attributes or {})[attr.ERROR_TYPE] == "upstream_unavailable"
    assert all(r["traceparent"] for r in fake.requests)


# ---------------------------------------------------------------- embeddings

EMBEDDER = "fake-text-embedding-004"


async def test_embeddings_go_in_one_batch_call_and_come_back_in_order(adapter: GeminiAdapter, fake: FakeGemini) -> None:
    request = embeddings_pb2.EmbeddingRequest(model="embed", inputs=["alpha", "beta", "alpha"], dimensions=16)
    embeddings, record = await adapter.embed(_deployment(fake, model=EMBEDDER), request, None, "req-embed")
    assert [e.index for e in embeddings.data] == [0, 1, 2]
    assert list(embeddings.data[0].values) == pytest.approx(vector(EMBEDDER, "alpha", 16), abs=1e-6)
    assert list(embeddings.data[0].values) == list(embeddings.data[2].values)
    assert embeddings.model == EMBEDDER and not embeddings.usage.prompt_tokens
    assert record.http_status == 200
    sent = fake.requests[-1]
    assert sent["path"] == f"/v1beta/models/{EMBEDDER}:batchEmbedContents"
    for item in sent["body"]["requests"]:
        types.EmbedContentConfig.model_validate({"output_dimensionality": item["outputDimensionality"]})
        types.Content.model_validate(item["content"])
        assert item["model"] == f"models/{EMBEDDER}"


@pytest.mark.parametrize(
    ("status", "reason"),
    [(429, R.ERROR_REASON_UPSTREAM_RATE_LIMITED), (503, R.ERROR_REASON_UPSTREAM_UNAVAILABLE)],
)
async def test_embedding_errors_are_mapped_like_chat_ones(
    adapter: GeminiAdapter, fake: FakeGemini, status: int, reason: int
) -> None:
    fake.script(EMBEDDER, status=status, times=1)
    with pytest.raises(SwitchyardError) as caught:
        await adapter.embed(
            _deployment(fake, model=EMBEDDER), embeddings_pb2.EmbeddingRequest(model="e", inputs=["x"]), None
        )
    assert caught.value.reason == reason and KEY not in caught.value.message


async def test_a_refused_embedding_body_is_an_upstream_bad_request(adapter: GeminiAdapter, fake: FakeGemini) -> None:
    request = embeddings_pb2.EmbeddingRequest(model="e", inputs=["x"], dimensions=100_000)
    with pytest.raises(SwitchyardError) as caught:
        await adapter.embed(_deployment(fake, model=EMBEDDER), request, None)
    assert caught.value.reason == R.ERROR_REASON_UPSTREAM_BAD_REQUEST
