"""The fake Ollama server is what the official `ollama` Python client expects of Ollama.

Every case drives the fake over a real socket with `ollama.AsyncClient`: whole and NDJSON-streamed
chats, options and JSON format, a tool call and its result, images, errors and the model listing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import ollama
import openai
import pytest
import pytest_asyncio

from switchyard.fakes.ollama_fake import FakeOllama

MODEL = "llama3.2"
ASK: Any = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "What is a switchyard, in one line?"},
]
REPLY = "Switchyard fake reply to: What is a switchyard, in one line?"
WEATHER: Any = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeOllama]:
    async with FakeOllama.running(port=0) as running:
        yield running


@pytest.fixture
def client(fake: FakeOllama) -> ollama.AsyncClient:
    return ollama.AsyncClient(host=fake.url)


async def test_chat(client: ollama.AsyncClient, fake: FakeOllama) -> None:
    reply = await client.chat(model=MODEL, messages=ASK, options={"temperature": 0.2, "num_predict": 64, "seed": 7})
    assert reply.message.role == "assistant" and reply.message.content == REPLY
    assert reply.done and reply.done_reason == "stop"
    assert reply.prompt_eval_count and reply.eval_count
    sent = fake.requests[-1]["body"]
    assert sent["stream"] is False and sent["options"] == {"temperature": 0.2, "num_predict": 64, "seed": 7}


async def test_num_predict_cuts_the_reply(client: ollama.AsyncClient) -> None:
    reply = await client.chat(model=MODEL, messages=ASK, options={"num_predict": 2})
    assert reply.done_reason == "length" and reply.eval_count == 2


async def test_stream_is_ndjson_ending_with_done(client: ollama.AsyncClient) -> None:
    parts = [part async for part in await client.chat(model=MODEL, messages=ASK, stream=True)]
    assert "".join(p.message.content or "" for p in parts) == REPLY
    assert [p.done for p in parts].count(True) == 1 and parts[-1].done
    assert parts[-1].done_reason == "stop" and parts[-1].eval_count


async def test_json_format(client: ollama.AsyncClient) -> None:
    import json

    reply = await client.chat(model=MODEL, messages=ASK, format="json")
    assert isinstance(json.loads(reply.message.content or ""), dict)


@pytest.mark.parametrize("streamed", [False, True], ids=["plain", "streamed"])
async def test_tool_call_and_result(client: ollama.AsyncClient, fake: FakeOllama, streamed: bool) -> None:
    ask: Any = [{"role": "user", "content": "Please call get_weather for Paris"}]
    if streamed:
        parts = [p async for p in await client.chat(model=MODEL, messages=ask, tools=[WEATHER], stream=True)]
        calls = [c for p in parts for c in p.message.tool_calls or ()]
    else:
        reply = await client.chat(model=MODEL, messages=ask, tools=[WEATHER])
        calls = list(reply.message.tool_calls or ())
    assert len(calls) == 1 and calls[0].function.name == "get_weather"
    assert isinstance(calls[0].function.arguments, dict)
    follow_up: Any = [
        *ask,
        {"role": "assistant", "content": "", "tool_calls": [calls[0].model_dump()]},
        {"role": "tool", "tool_name": "get_weather", "content": '{"temperature": 21}'},
    ]
    reply = await client.chat(model=MODEL, messages=follow_up, tools=[WEATHER])
    assert "temperature" in (reply.message.content or "")
    assert fake.requests[-1]["body"]["messages"][-1]["tool_name"] == "get_weather"


async def test_images_travel_as_base64(client: ollama.AsyncClient, fake: FakeOllama) -> None:
    ask: Any = [{"role": "user", "content": "Describe this image", "images": ["iVBORw0KGgo="]}]
    reply = await client.chat(model=MODEL, messages=ask)
    assert "Describe this image" in (reply.message.content or "")
    assert fake.requests[-1]["body"]["messages"][0]["images"] == ["iVBORw0KGgo="]


async def test_error_status_is_a_response_error(client: ollama.AsyncClient, fake: FakeOllama) -> None:
    fake.script(MODEL, status=404, times=1)
    with pytest.raises(ollama.ResponseError) as caught:
        await client.chat(model=MODEL, messages=ASK)
    assert caught.value.status_code == 404 and caught.value.error


async def test_mid_stream_error_line_raises(client: ollama.AsyncClient, fake: FakeOllama) -> None:
    fake.script(MODEL, mid_stream_error=2, times=1)
    with pytest.raises(ollama.ResponseError):
        async for _ in await client.chat(model=MODEL, messages=ASK, stream=True):
            pass


async def test_list_shows_models_used(client: ollama.AsyncClient) -> None:
    await client.chat(model=MODEL, messages=ASK)
    listed = await client.list()
    assert MODEL in [m.model for m in listed.models]


async def test_openai_compatible_embeddings(fake: FakeOllama) -> None:
    # Ollama's OpenAI-compatible endpoint, as the official openai client calls it.
    async with openai.AsyncOpenAI(base_url=f"{fake.url}/v1", api_key="ollama", max_retries=0) as sdk:
        reply = await sdk.embeddings.create(model="nomic-embed-text", input=["alpha", "beta"], dimensions=64)
    assert [len(item.embedding) for item in reply.data] == [64, 64]
    assert reply.data[0].embedding != reply.data[1].embedding and reply.usage.prompt_tokens > 0
