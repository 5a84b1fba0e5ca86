"""The fake OpenAI provider is what the official SDK and the OpenAPI spec say OpenAI is.

Every case drives the fake over a real socket with `openai.AsyncOpenAI(_strict_response_validation=True)`
and, for the raw bytes, validates responses, every stream chunk and every error body against the
spec (tests/openapi_spec.py).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import openai
import orjson
import pytest
import pytest_asyncio

from switchyard.fakes import FakeOpenAI
from switchyard.wire.sse import SSEParser
from tests.openapi_spec import assert_valid
from tests.support import wait_until

ASK: Any = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "What is a switchyard, in one line?"},
]
REPLY = "Switchyard fake reply to: What is a switchyard, in one line?"
WEATHER: Any = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
        },
    },
}
TIME: Any = {
    "type": "function",
    "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}},
}


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI.running(port=0) as running:
        yield running


@pytest_asyncio.fixture
async def client(fake: FakeOpenAI) -> AsyncIterator[openai.AsyncOpenAI]:
    sdk = openai.AsyncOpenAI(base_url=fake.url, api_key="sk-test", max_retries=0, _strict_response_validation=True)
    yield sdk
    await sdk.close()


@pytest_asyncio.fixture
async def raw(fake: FakeOpenAI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=fake.url, timeout=10) as http:
        yield http


async def _raw_stream(
    http: httpx.AsyncClient, body: dict[str, Any], headers: dict[str, str] | None = None
) -> list[str]:
    """Returns the data of every SSE event of a streamed reply, checking the framing on the way."""
    async with http.stream("POST", "/chat/completions", json=body, headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        parser = SSEParser()
        events: list[str] = []
        async for data in response.aiter_bytes():
            events.extend(e.data for e in parser.feed(data))
        assert not parser.finish()
    return events


async def test_non_stream_reply_parses_strictly_and_matches_the_spec(
    client: openai.AsyncOpenAI, raw: httpx.AsyncClient
) -> None:
    reply = await client.chat.completions.with_raw_response.create(model="fake-gpt-4o", messages=ASK)
    completion = reply.parse()
    assert completion.choices[0].message.content == REPLY
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model == "fake-gpt-4o"
    assert completion.usage is not None and completion.usage.total_tokens == (
        completion.usage.prompt_tokens + completion.usage.completion_tokens
    )
    assert reply.headers["x-request-id"].startswith("req_fake_")
    for name in (
        "limit-requests",
        "remaining-requests",
        "limit-tokens",
        "remaining-tokens",
        "reset-requests",
        "reset-tokens",
    ):
        assert reply.headers[f"x-ratelimit-{name}"]
    response = await raw.post("/chat/completions", json={"model": "fake-gpt-4o", "messages": ASK})
    assert_valid("CreateChatCompletionResponse", response.json())


async def test_stream_without_include_usage_has_no_usage_chunk(
    client: openai.AsyncOpenAI, raw: httpx.AsyncClient
) -> None:
    stream = await client.chat.completions.create(model="fake-gpt-4o", messages=ASK, stream=True)
    chunks = [chunk async for chunk in stream]
    assert all(chunk.choices for chunk in chunks), "a choices:[] chunk must never come unasked"
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == REPLY
    assert [c.choices[0].delta.role for c in chunks if c.choices[0].delta.role] == ["assistant"]
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in chunks] == [None] * (len(chunks) - 1) + ["stop"]
    assert chunks[-1].choices[0].delta.content is None
    assert len({c.id for c in chunks}) == 1
    events = await _raw_stream(raw, {"model": "fake-gpt-4o", "messages": ASK, "stream": True})
    assert events[-1] == "[DONE]"
    for data in events[:-1]:
        chunk = orjson.loads(data)
        assert "usage" not in chunk
        assert_valid("CreateChatCompletionStreamResponse", chunk)


async def test_stream_with_include_usage_ends_with_the_usage_chunk(
    client: openai.AsyncOpenAI, raw: httpx.AsyncClient
) -> None:
    stream = await client.chat.completions.create(
        model="fake-gpt-4o",
        messages=ASK,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = [chunk async for chunk in stream]
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
    assert all(c.usage is None for c in chunks[:-1])
    body = {
        "model": "fake-gpt-4o",
        "messages": ASK,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    events = await _raw_stream(raw, body)
    parsed = [orjson.loads(e) for e in events[:-1]]
    assert all("usage" in p and p["usage"] is None for p in parsed[:-1])
    for chunk in parsed:
        assert_valid("CreateChatCompletionStreamResponse", chunk)


async def test_stream_helper_assembles_a_tool_call(client: openai.AsyncOpenAI, raw: httpx.AsyncClient) -> None:
    messages: Any = [{"role": "user", "content": "Please call get_weather for Paris"}]
    async with client.chat.completions.stream(
        model="fake-gpt-4o",
        messages=messages,
        tools=[WEATHER, TIME],
    ) as stream:
        final = await stream.get_final_completion()
    choice = final.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls or []
    assert len(calls) == 1
    assert calls[0].type == "function"
    assert calls[0].id.startswith("call_fake_")
    assert calls[0].function.name == "get_weather"
    assert json.loads(calls[0].function.arguments) == {"city": "city-value", "days": 1}
    events = await _raw_stream(raw, {"model": "fake-gpt-4o", "messages": messages, "tools": [WEATHER], "stream": True})
    for data in events[:-1]:
        assert_valid("CreateChatCompletionStreamResponse", orjson.loads(data))


async def test_parallel_tool_calls_keep_their_indices(client: openai.AsyncOpenAI) -> None:
    messages: Any = [{"role": "user", "content": "call get_time and then call get_weather"}]
    async with client.chat.completions.stream(
        model="fake-gpt-4o",
        messages=messages,
        tools=[WEATHER, TIME],
    ) as stream:
        final = await stream.get_final_completion()
    names = [c.function.name for c in final.choices[0].message.tool_calls or []]
    assert names == ["get_time", "get_weather"]


async def test_non_stream_tool_call_and_json_mode(client: openai.AsyncOpenAI, raw: httpx.AsyncClient) -> None:
    called = await client.chat.completions.create(
        model="fake-gpt-4o",
        messages=ASK,
        tools=[WEATHER],
        tool_choice="required",
    )
    assert called.choices[0].finish_reason == "tool_calls"
    assert called.choices[0].message.content is None
    call = (called.choices[0].message.tool_calls or [])[0]
    assert call.type == "function" and call.function.name == "get_weather"
    as_json = await client.chat.completions.create(
        model="fake-gpt-4o",
        messages=ASK,
        response_format={"type": "json_object"},
    )
    assert json.loads(as_json.choices[0].message.content or "") == {"reply": REPLY}
    response = await raw.post(
        "/chat/completions",
        json={"model": "fake-gpt-4o", "messages": ASK, "tools": [WEATHER], "tool_choice": "required"},
    )
    assert_valid("CreateChatCompletionResponse", response.json())


async def test_max_tokens_cuts_the_reply_with_finish_reason_length(client: openai.AsyncOpenAI) -> None:
    cut = await client.chat.completions.create(model="fake-gpt-4o", messages=ASK, max_completion_tokens=2)
    assert cut.choices[0].finish_reason == "length"
    assert cut.usage is not None and cut.usage.completion_tokens == 2


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "", "messages": ASK}, "model"),
        ({"model": "fake-gpt-4o", "messages": []}, "messages"),
        ({"model": "fake-gpt-4o", "messages": [{"role": "robot", "content": "hi"}]}, "messages[0].role"),
        (
            {"model": "fake-gpt-4o", "messages": ASK, "stream_options": {"include_usage": True}},
            "stream_options",
        ),
    ],
)
async def test_invalid_requests_get_openai_400s(
    client: openai.AsyncOpenAI, raw: httpx.AsyncClient, body: dict[str, Any], param: str
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await client.chat.completions.create(**body)
    assert caught.value.param == param
    response = await raw.post("/chat/completions", json=body)
    assert response.status_code == 400
    assert_valid("ErrorResponse", response.json())
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}


@pytest.mark.parametrize(("body", "param"), [({"messages": ASK}, "model"), ({"model": "m"}, "messages")])
async def test_missing_required_fields(raw: httpx.AsyncClient, body: dict[str, Any], param: str) -> None:
    response = await raw.post("/chat/completions", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == param
    assert response.json()["error"]["code"] == "missing_required_parameter"
    assert_valid("ErrorResponse", response.json())
    broken = await raw.post("/chat/completions", content=b"{not json")
    assert broken.status_code == 400
    assert_valid("ErrorResponse", broken.json())


async def test_429_is_a_rate_limit_error_with_headers(client: openai.AsyncOpenAI, raw: httpx.AsyncClient) -> None:
    headers = {"x-fake-status": "429", "x-fake-retry-after": "3"}
    with pytest.raises(openai.RateLimitError) as caught:
        await client.chat.completions.create(model="fake-gpt-4o", messages=ASK, extra_headers=headers)
    assert caught.value.response.headers["retry-after"] == "3"
    assert caught.value.response.headers["x-ratelimit-remaining-requests"] == "0"
    assert caught.value.code == "rate_limit_exceeded"
    response = await raw.post("/chat/completions", json={"model": "m", "messages": ASK}, headers=headers)
    assert_valid("ErrorResponse", response.json())


async def test_quota_429_has_no_retry_after(client: openai.AsyncOpenAI) -> None:
    metadata = {"fake_status": "429", "fake_error_code": "insufficient_quota"}
    with pytest.raises(openai.RateLimitError) as caught:
        await client.chat.completions.create(model="fake-gpt-4o", messages=ASK, metadata=metadata)
    assert caught.value.code == "insufficient_quota"
    assert "retry-after" not in caught.value.response.headers


@pytest.mark.parametrize("status", [500, 503, 529])
async def test_server_errors_are_internal_server_errors(
    client: openai.AsyncOpenAI, raw: httpx.AsyncClient, status: int
) -> None:
    with pytest.raises(openai.InternalServerError) as caught:
        await client.chat.completions.create(model="fake-gpt-4o", messages=ASK, metadata={"fake_status": str(status)})
    assert caught.value.status_code == status
    response = await raw.post(
        "/chat/completions", json={"model": "m", "messages": ASK}, headers={"x-fake-status": str(status)}
    )
    assert_valid("ErrorResponse", response.json())


async def test_mid_stream_error_raises_api_error(client: openai.AsyncOpenAI, raw: httpx.AsyncClient) -> None:
    stream = await client.chat.completions.create(
        model="fake-gpt-4o",
        messages=ASK,
        stream=True,
        extra_headers={"x-fake-mid-stream-error": "2"},
    )
    received = []
    with pytest.raises(openai.APIError):
        async for chunk in stream:
            received.append(chunk)
    assert len(received) == 2
    events = await _raw_stream(
        raw, {"model": "m", "messages": ASK, "stream": True}, headers={"x-fake-mid-stream-error": "2"}
    )
    assert_valid("ErrorResponse", orjson.loads(events[2]))


async def test_cut_stream_closes_without_done(raw: httpx.AsyncClient, fake: FakeOpenAI) -> None:
    body = {"model": "m", "messages": ASK, "stream": True, "metadata": {"fake_cut_after": "2"}}
    received = []
    with pytest.raises(httpx.RemoteProtocolError):
        async with raw.stream("POST", "/chat/completions", json=body) as response:
            async for line in response.aiter_lines():
                received.append(line)
    assert "data: [DONE]" not in received
    assert fake.requests[-1]["cut"] is True


async def test_malformed_reply_is_not_json(raw: httpx.AsyncClient) -> None:
    response = await raw.post(
        "/chat/completions", json={"model": "m", "messages": ASK}, headers={"x-fake-malformed": "json"}
    )
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.text)


async def test_admin_scripts_apply_per_model_and_times(
    client: openai.AsyncOpenAI, raw: httpx.AsyncClient, fake: FakeOpenAI
) -> None:
    assert (
        await raw.post(fake.admin_url + "/_fake/scripts", json={"model": "fake-a", "status": 503, "times": 2})
    ).status_code == 200
    for _ in range(2):
        with pytest.raises(openai.InternalServerError):
            await client.chat.completions.create(model="fake-a", messages=ASK)
    other = await client.chat.completions.create(model="fake-b", messages=ASK)
    assert other.choices[0].message.content == REPLY
    third = await client.chat.completions.create(model="fake-a", messages=ASK)
    assert third.choices[0].message.content == REPLY
    bad = await raw.post(fake.admin_url + "/_fake/scripts", json={"model": "fake-a", "colour": "blue"})
    assert bad.status_code == 400


async def test_request_log_records_auth_and_client_disconnects(raw: httpx.AsyncClient, fake: FakeOpenAI) -> None:
    await raw.delete(fake.admin_url + "/_fake/requests")
    body = {
        "model": "slow",
        "messages": ASK,
        "stream": True,
        "metadata": {"fake_chunk_delay_ms": "200", "fake_chunks": "40"},
    }
    async with raw.stream("POST", "/chat/completions", json=body, headers={"authorization": "Bearer sk-x"}) as resp:
        async for _ in resp.aiter_bytes():
            break

    async def upstream_saw_disconnect() -> bool:
        log = (await raw.get(fake.admin_url + "/_fake/requests")).json()
        return bool(log) and log[-1]["disconnected"] is True

    await wait_until(upstream_saw_disconnect, 5.0, "the fake to log the client disconnect")
    entry = fake.requests[-1]
    assert entry["authorization"] is True
    assert entry["completed"] is False
    assert entry["body"]["model"] == "slow"


async def test_models_endpoint(client: openai.AsyncOpenAI) -> None:
    models = [m.id async for m in client.models.list()]
    assert "fake-gpt-4o" in models


async def test_api_key_is_enforced_when_configured() -> None:
    async with FakeOpenAI.running(port=0, api_key="sk-right") as guarded:
        wrong = openai.AsyncOpenAI(
            base_url=guarded.url, api_key="sk-wrong", max_retries=0, _strict_response_validation=True
        )
        with pytest.raises(openai.AuthenticationError):
            await wrong.chat.completions.create(model="m", messages=ASK)
        await wrong.close()
        right = openai.AsyncOpenAI(base_url=guarded.url, api_key="sk-right", max_retries=0)
        assert (await right.chat.completions.create(model="m", messages=ASK)).choices
        await right.close()
