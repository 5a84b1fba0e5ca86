"""The fake Gemini provider is what the official google-genai SDK says Gemini is.

Every case drives the fake over a real socket with `google.genai.Client(...).aio` on both API versions
(v1, the SDK 3.x default, and v1beta), and validates the raw bytes it emits with
`google.genai.types.GenerateContentResponse.model_validate` (its models forbid unknown keys).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
import pytest_asyncio
from google import genai
from google.genai import errors, types

from switchyard.fakes.gemini_fake import FakeGemini
from switchyard.wire.sse import SSEParser
from tests.support import wait_until

KEY = "AIza-fake-test-key"
MODEL = "fake-gemini-2.5-flash"
ASK = "What is a switchyard, in one line?"
REPLY = "Switchyard fake reply to: What is a switchyard, in one line?"
WEATHER = types.FunctionDeclaration(
    name="get_weather",
    description="Weather of a city",
    parameters_json_schema={
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
        "required": ["city"],
        "additionalProperties": False,
    },
)
VERSIONS = pytest.mark.parametrize("version", ["v1", "v1beta"])


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeGemini]:
    async with FakeGemini.running(port=0, api_key=KEY) as running:
        yield running


def _client(fake: FakeGemini, version: str = "v1", key: str = KEY) -> genai.Client:
    return genai.Client(api_key=key, http_options=types.HttpOptions(base_url=fake.url, api_version=version))


async def _raw(fake: FakeGemini, body: dict[str, Any], stream: bool = False, **headers: str) -> httpx.Response:
    method = "streamGenerateContent?alt=sse" if stream else "generateContent"
    async with httpx.AsyncClient(timeout=10) as http:
        return await http.post(
            f"{fake.url}/v1beta/models/{MODEL}:{method}", json=body, headers={"x-goog-api-key": KEY, **headers}
        )


def _events(response: httpx.Response) -> list[dict[str, Any]]:
    """Returns every SSE event of a raw stream, checking Gemini's framing on the way."""
    assert response.headers["content-type"].startswith("text/event-stream")
    assert b"data:{" not in response.content, "google-genai needs `data: ` with the space"
    assert response.content.endswith(b"\r\n\r\n")
    parser = SSEParser()
    events = [orjson.loads(e.data) for e in parser.feed(response.content)]
    assert not parser.finish()
    return events


@VERSIONS
async def test_generate_content_with_system_instruction(fake: FakeGemini, version: str) -> None:
    client = _client(fake, version)
    config = types.GenerateContentConfig(system_instruction="Be brief.", temperature=0.2, max_output_tokens=200)
    reply = await client.aio.models.generate_content(model=MODEL, contents=ASK, config=config)
    assert reply.text == REPLY
    assert reply.candidates and reply.candidates[0].finish_reason == types.FinishReason.STOP
    usage = reply.usage_metadata
    assert usage is not None and usage.total_token_count == (usage.prompt_token_count or 0) + (
        usage.candidates_token_count or 0
    )
    logged = fake.requests[-1]
    assert logged["path"] == f"/{version}/models/{MODEL}:generateContent"
    assert logged["api_key"] and logged["status"] == 200 and logged["completed"]
    assert logged["body"]["systemInstruction"]["parts"] == [{"text": "Be brief."}]
    raw = await _raw(fake, {"contents": [{"role": "user", "parts": [{"text": ASK}]}]})
    types.GenerateContentResponse.model_validate(raw.json())


@VERSIONS
async def test_stream_text_arrives_in_pieces_and_ends_with_stop(fake: FakeGemini, version: str) -> None:
    stream = await _client(fake, version).aio.models.generate_content_stream(model=MODEL, contents=ASK)
    chunks = [chunk async for chunk in stream]
    assert len(chunks) > 1
    assert "".join(c.text or "" for c in chunks) == REPLY
    reasons = [c.candidates[0].finish_reason if c.candidates else None for c in chunks]
    assert reasons == [None] * (len(chunks) - 1) + [types.FinishReason.STOP]
    assert chunks[-1].usage_metadata is not None and chunks[-1].usage_metadata.candidates_token_count
    assert fake.requests[-1]["query"] == "alt=sse"
    raw = await _raw(fake, {"contents": [{"role": "user", "parts": [{"text": ASK}]}]}, stream=True)
    for event in _events(raw):
        types.GenerateContentResponse.model_validate(event)


async def test_function_call_streamed_whole_then_tool_round_trip(fake: FakeGemini) -> None:
    client = _client(fake, "v1beta")
    config = types.GenerateContentConfig(tools=[types.Tool(function_declarations=[WEATHER])])
    ask = "Please call get_weather for Paris"
    stream = await client.aio.models.generate_content_stream(model=MODEL, contents=ask, config=config)
    chunks = [chunk async for chunk in stream]
    calls = [call for chunk in chunks for call in chunk.function_calls or ()]
    assert [(c.name, c.args) for c in calls] == [("get_weather", {"city": "city-value", "days": 1})]
    # The finish of a function-call turn is STOP, in a chunk of its own (pitfall 1).
    assert chunks[-1].candidates and chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP
    assert not chunks[-1].function_calls
    history = [
        types.Content(role="user", parts=[types.Part.from_text(text=ask)]),
        types.Content(role="model", parts=[types.Part(function_call=calls[0])]),
        types.Content(
            role="user",
            parts=[types.Part.from_function_response(name="get_weather", response={"temp_c": 21})],
        ),
    ]
    reply = await client.aio.models.generate_content(model=MODEL, contents=history, config=config)
    assert reply.text == 'Switchyard fake reply to: tool result {"temp_c":21}'
    assert not reply.function_calls


async def test_function_calling_modes_any_and_none(fake: FakeGemini) -> None:
    client = _client(fake)
    tools = [types.Tool(function_declarations=[WEATHER, types.FunctionDeclaration(name="get_time")])]

    def config(mode: str, allowed: list[str] | None = None) -> types.GenerateContentConfig:
        calling = types.FunctionCallingConfig(mode=mode, allowed_function_names=allowed)  # type: ignore[arg-type]
        return types.GenerateContentConfig(tools=tools, tool_config=types.ToolConfig(function_calling_config=calling))

    forced = await client.aio.models.generate_content(model=MODEL, contents="hi", config=config("ANY", ["get_time"]))
    assert [c.name for c in forced.function_calls or ()] == ["get_time"]
    none = await client.aio.models.generate_content(model=MODEL, contents="call get_time", config=config("NONE"))
    assert none.function_calls is None and none.text


async def test_json_mode_and_schema(fake: FakeGemini) -> None:
    client = _client(fake)
    plain = types.GenerateContentConfig(response_mime_type="application/json")
    reply = await client.aio.models.generate_content(model=MODEL, contents=ASK, config=plain)
    assert json.loads(reply.text or "") == {"reply": REPLY}
    schema = {"type": "object", "properties": {"answer": {"type": "string"}, "n": {"type": "integer"}}}
    typed = types.GenerateContentConfig(response_mime_type="application/json", response_json_schema=schema)
    reply = await client.aio.models.generate_content(model=MODEL, contents=ASK, config=typed)
    assert json.loads(reply.text or "") == {"answer": "answer-value", "n": 1}


async def test_blocked_prompt_and_safety_stop_parse(fake: FakeGemini) -> None:
    client = _client(fake)
    fake.script(MODEL, times=1, blocked=True)
    blocked = await client.aio.models.generate_content(model=MODEL, contents=ASK)
    assert not blocked.candidates
    assert blocked.prompt_feedback is not None
    assert blocked.prompt_feedback.block_reason == types.BlockedReason.SAFETY
    fake.script(MODEL, times=1, safety=True)
    stopped = await client.aio.models.generate_content(model=MODEL, contents=ASK)
    assert stopped.candidates and stopped.candidates[0].finish_reason == types.FinishReason.SAFETY
    assert stopped.text is None
    for option in ("blocked", "safety"):
        raw = await _raw(fake, {"contents": [{"parts": [{"text": ASK}]}]}, **{f"x-fake-{option}": "1"})
        types.GenerateContentResponse.model_validate(raw.json())
        streamed = await _raw(fake, {"contents": [{"parts": [{"text": ASK}]}]}, True, **{f"x-fake-{option}": "1"})
        for event in _events(streamed):
            types.GenerateContentResponse.model_validate(event)


async def test_bad_key_is_400_api_key_invalid(fake: FakeGemini) -> None:
    with pytest.raises(errors.ClientError) as caught:
        await _client(fake, key="AIza-wrong").aio.models.generate_content(model=MODEL, contents=ASK)
    assert caught.value.code == 400 and caught.value.status == "INVALID_ARGUMENT"
    details = caught.value.details["error"]["details"]
    assert any(d.get("reason") == "API_KEY_INVALID" for d in details)


@pytest.mark.parametrize(
    ("status", "kind", "rpc"),
    [
        (404, errors.ClientError, "NOT_FOUND"),
        (429, errors.ClientError, "RESOURCE_EXHAUSTED"),
        (500, errors.ServerError, "INTERNAL"),
        (503, errors.ServerError, "UNAVAILABLE"),
    ],
)
async def test_scripted_errors_raise_the_sdk_exceptions(
    fake: FakeGemini, status: int, kind: type[errors.APIError], rpc: str
) -> None:
    fake.script(MODEL, times=1, status=status, retry_after="27s")
    with pytest.raises(kind) as caught:
        await _client(fake).aio.models.generate_content(model=MODEL, contents=ASK)
    assert caught.value.code == status and caught.value.status == rpc
    if status == 429:
        details = caught.value.details["error"]["details"]
        retry = [d for d in details if d["@type"] == "type.googleapis.com/google.rpc.RetryInfo"]
        assert retry == [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "27s"}]
        assert any(d["@type"].endswith("QuotaFailure") and d["violations"] for d in details)
    # The script is used up: the next call succeeds.
    assert (await _client(fake).aio.models.generate_content(model=MODEL, contents=ASK)).text == REPLY


async def test_stream_error_status_raises_before_any_chunk(fake: FakeGemini) -> None:
    fake.script(MODEL, times=1, status=503)
    with pytest.raises(errors.ServerError) as caught:
        stream = await _client(fake).aio.models.generate_content_stream(model=MODEL, contents=ASK)
        _ = [chunk async for chunk in stream]
    assert caught.value.code == 503


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"contents": [{"role": "assistant", "parts": [{"text": "hi"}]}]}, "valid role"),
        (
            {
                "contents": [
                    {"role": "model", "parts": [{"functionCall": {"name": "f", "args": {}}}]},
                    {"role": "user", "parts": [{"functionResponse": {"name": "f", "response": "sunny"}}]},
                ]
            },
            "function_response.response",
        ),
        (
            {
                "contents": [{"parts": [{"text": "hi"}]}],
                "tools": [
                    {
                        "functionDeclarations": [
                            {"name": "f", "parameters": {"type": "object", "additionalProperties": False}}
                        ]
                    }
                ],
            },
            'Unknown name "additionalProperties"',
        ),
        ({"contents": []}, "contents is not specified"),
        ({"contents": [{"parts": [{"text": "hi"}]}], "generationConfig": {"temperature": 3}}, "temperature"),
    ],
)
async def test_requests_the_live_api_rejects_get_400(fake: FakeGemini, body: dict[str, Any], says: str) -> None:
    response = await _raw(fake, body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["status"] == "INVALID_ARGUMENT" and error["code"] == 400
    assert says in error["message"]


async def test_parameters_json_schema_accepts_full_json_schema(fake: FakeGemini) -> None:
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object", "title": "T"}
    body = {
        "contents": [{"parts": [{"text": "call f"}]}],
        "tools": [{"functionDeclarations": [{"name": "f", "parametersJsonSchema": schema}]}],
    }
    response = await _raw(fake, body)
    assert response.status_code == 200
    reply = types.GenerateContentResponse.model_validate(response.json())
    assert reply.function_calls and reply.function_calls[0].name == "f"


async def test_models_list_and_admin_api(fake: FakeGemini) -> None:
    pager = await _client(fake, "v1beta").aio.models.list()
    names = [model.name async for model in pager]
    assert f"models/{MODEL}" in names
    async with httpx.AsyncClient(base_url=fake.admin_url, timeout=5) as admin:
        assert (await admin.post("/_fake/scripts", json={"model": MODEL, "status": 503, "times": 1})).status_code == 200
        assert (await admin.get("/_fake/scripts")).json()["data"][0]["status"] == 503
        assert (await admin.post("/_fake/scripts", json={"nonsense": 1})).status_code == 400
        with pytest.raises(errors.ServerError):
            await _client(fake).aio.models.generate_content(model=MODEL, contents=ASK)
        log = (await admin.get("/_fake/requests")).json()
        assert log[-1]["status"] == 503 and log[-1]["model"] == MODEL
        await admin.delete("/_fake/requests")
        assert (await admin.get("/_fake/requests")).json() == []


async def test_cut_stream_is_logged_and_client_disconnect_seen(fake: FakeGemini) -> None:
    fake.script(MODEL, times=1, cut_after=1, chunk_delay_ms=1)
    # google-genai 3.x runs on httpx2 and surfaces a cut stream as its RemoteProtocolError.
    with pytest.raises(Exception, match=r"incomplete|closed|peer") as caught:
        stream = await _client(fake).aio.models.generate_content_stream(model=MODEL, contents=ASK)
        _ = [chunk async for chunk in stream]
    assert type(caught.value).__name__ == "RemoteProtocolError"
    assert fake.requests[-1]["cut"] and not fake.requests[-1]["completed"]
    fake.script(MODEL, times=1, chunk_delay_ms=200, chunks=20)
    stream = await _client(fake).aio.models.generate_content_stream(model=MODEL, contents=ASK)
    async for _chunk in stream:
        break
    await stream.aclose()
    await wait_until(lambda: bool(fake.requests[-1]["disconnected"]), what="the fake to see the client leave")


# ---------------------------------------------------------------- embeddings

# The SDK sends a list of texts as one request each to a text-embedding model (for a `gemini-*` one it
# sends them as the parts of one content, which embeds as one vector).
EMBED_MODEL = "fake-text-embedding-004"


@VERSIONS
async def test_embed_content_with_the_sdk(fake: FakeGemini, version: str) -> None:
    client = _client(fake, version).aio
    texts = ["a switchyard", "a railway yard", "a switchyard"]
    result = await client.models.embed_content(model=EMBED_MODEL, contents=texts)
    assert result.embeddings is not None and len(result.embeddings) == 3
    vectors = [e.values for e in result.embeddings]
    assert all(v is not None and len(v) == 768 for v in vectors)
    assert vectors[0] == vectors[2] and vectors[0] != vectors[1], "the same text embeds the same way"
    assert abs(sum(x * x for x in vectors[0] or ()) - 1.0) < 1e-6
    sent = fake.requests[-1]
    assert sent["path"] == f"/{version}/models/{EMBED_MODEL}:batchEmbedContents"
    assert [r["content"]["parts"][0]["text"] for r in sent["body"]["requests"]] == texts


async def test_embed_content_honours_output_dimensionality(fake: FakeGemini) -> None:
    config = types.EmbedContentConfig(output_dimensionality=32, task_type="RETRIEVAL_DOCUMENT")
    result = await _client(fake).aio.models.embed_content(model=EMBED_MODEL, contents="shorter", config=config)
    assert result.embeddings is not None and len(result.embeddings[0].values or ()) == 32


async def test_embed_content_errors_are_googles(fake: FakeGemini) -> None:
    with pytest.raises(errors.ClientError) as caught:
        await _client(fake, key="AIza-wrong").aio.models.embed_content(model=EMBED_MODEL, contents="x")
    assert caught.value.code == 400 and caught.value.status == "INVALID_ARGUMENT"
    config = types.EmbedContentConfig(output_dimensionality=100_000)
    with pytest.raises(errors.ClientError) as too_long:
        await _client(fake).aio.models.embed_content(model=EMBED_MODEL, contents="x", config=config)
    assert too_long.value.code == 400 and "output_dimensionality" in str(too_long.value.message)


async def test_single_embed_content_method(fake: FakeGemini) -> None:
    body = {"content": {"parts": [{"text": "one"}]}, "outputDimensionality": 8}
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.post(
            f"{fake.url}/v1beta/models/{EMBED_MODEL}:embedContent", json=body, headers={"x-goog-api-key": KEY}
        )
    assert response.status_code == 200, response.text
    result = types.EmbedContentResponse.model_validate({"embeddings": [response.json()["embedding"]]})
    assert result.embeddings is not None and len(result.embeddings[0].values or ()) == 8
