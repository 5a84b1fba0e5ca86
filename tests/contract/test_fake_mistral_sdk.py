"""The fake Mistral server is what the official `mistralai` client (2.x) expects of La Plateforme.

Every case drives the fake over a real socket with `mistralai.client.Mistral`, whose pydantic models
validate every reply and stream chunk: whole and streamed chats (usage on the finishing chunk), a tool
call with a 9-character id and its result, and the error shapes.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from mistralai.client import Mistral
from mistralai.client.errors import SDKError

from switchyard.fakes.mistral_fake import FakeMistral

MODEL = "mistral-large-latest"
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


def _message(reply: Any) -> Any:
    message = reply.choices[0].message
    assert message is not None
    return message


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeMistral]:
    async with FakeMistral.running(port=0, api_key="mistral-key") as running:
        yield running


@pytest_asyncio.fixture
async def client(fake: FakeMistral) -> AsyncIterator[Mistral]:
    sdk = Mistral(api_key="mistral-key", server_url=fake.admin_url)
    yield sdk


async def test_chat(client: Mistral, fake: FakeMistral) -> None:
    reply = await client.chat.complete_async(model=MODEL, messages=ASK, random_seed=7, max_tokens=64, safe_prompt=True)
    assert _message(reply).content == REPLY and reply.choices[0].finish_reason == "stop"
    usage = reply.usage
    assert usage.total_tokens == (usage.prompt_tokens or 0) + (usage.completion_tokens or 0)
    sent = fake.requests[-1]["body"]
    assert sent["random_seed"] == 7 and sent["safe_prompt"] is True and "seed" not in sent


async def test_stream_carries_usage_on_the_finishing_chunk(client: Mistral) -> None:
    stream = await client.chat.stream_async(model=MODEL, messages=ASK)
    chunks = [event.data async for event in stream]
    assert "".join(str(c.choices[0].delta.content or "") for c in chunks if c.choices) == REPLY
    last = chunks[-1]
    assert last.choices and last.choices[0].finish_reason == "stop" and last.usage is not None
    assert all(c.usage is None for c in chunks[:-1])


@pytest.mark.parametrize("streamed", [False, True], ids=["plain", "streamed"])
async def test_tool_call_ids_are_nine_alphanumerics(client: Mistral, streamed: bool) -> None:
    ask: Any = [{"role": "user", "content": "Please call get_weather for Paris"}]
    if streamed:
        stream = await client.chat.stream_async(model=MODEL, messages=ask, tools=[WEATHER], tool_choice="any")
        calls = [
            t for e in [e async for e in stream] if e.data.choices for t in e.data.choices[0].delta.tool_calls or ()
        ]
        call_id, name = calls[0].id, calls[0].function.name
        arguments = "".join(str(t.function.arguments) for t in calls)
    else:
        reply = await client.chat.complete_async(model=MODEL, messages=ask, tools=[WEATHER], tool_choice="any")
        (call,) = _message(reply).tool_calls or []
        call_id, name, arguments = call.id, call.function.name, str(call.function.arguments)
        assert reply.choices[0].finish_reason == "tool_calls"
    assert re.fullmatch(r"[a-zA-Z0-9]{9}", str(call_id)) and name == "get_weather"
    follow_up: Any = [
        *ask,
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.loads(arguments)}}
            ],
        },
        {"role": "tool", "tool_call_id": call_id, "name": name, "content": '{"temperature": 21}'},
    ]
    reply = await client.chat.complete_async(model=MODEL, messages=follow_up, tools=[WEATHER])
    assert "temperature" in str(_message(reply).content)


async def test_foreign_tool_call_id_is_a_400(client: Mistral) -> None:
    ask: Any = [
        {"role": "user", "content": "hi"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"id": "call_from_openai", "type": "function", "function": {"name": "f", "arguments": {}}}],
        },
        {"role": "tool", "tool_call_id": "call_from_openai", "content": "r"},
    ]
    with pytest.raises(SDKError) as caught:
        await client.chat.complete_async(model=MODEL, messages=ask)
    assert caught.value.status_code == 400 and json.loads(caught.value.body)["object"] == "error"


@pytest.mark.parametrize(("status", "message"), [(401, "Unauthorized"), (429, "Requests rate limit exceeded")])
async def test_gateway_errors(client: Mistral, fake: FakeMistral, status: int, message: str) -> None:
    fake.script(MODEL, status=status, times=1)
    with pytest.raises(SDKError) as caught:
        await client.chat.complete_async(model=MODEL, messages=ASK, retries=None)
    assert caught.value.status_code == status and json.loads(caught.value.body)["message"] == message


async def test_embeddings_take_output_dimension(client: Mistral, fake: FakeMistral) -> None:
    reply = await client.embeddings.create_async(
        model="mistral-embed", inputs=["Grüße aus Zürich", "東京"], output_dimension=256
    )
    assert [item.index for item in reply.data] == [0, 1]
    assert [len(item.embedding or []) for item in reply.data] == [256, 256]
    assert reply.usage.prompt_tokens and reply.usage.total_tokens == reply.usage.prompt_tokens
    assert fake.requests[-1]["body"]["output_dimension"] == 256, "the body was sent in Mistral's field names"
