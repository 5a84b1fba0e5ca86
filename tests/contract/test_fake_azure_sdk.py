"""The fake Azure OpenAI resource is what `openai.AzureOpenAI` expects of Azure.

The official client builds Azure's URLs (`/openai/deployments/{deployment}/chat/completions?api-version=`)
and sends `api-key` (or an Entra token as Bearer); every case drives the fake over a real socket.
Responses are not parsed strictly: Azure's opening stream chunk has `"object": ""`, which the SDK's
strict models reject, and the real service sends it all the same.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import openai
import pytest
import pytest_asyncio

from switchyard.fakes.azure_fake import COMPLETION_TRIGGER, PROMPT_TRIGGER, FakeAzureOpenAI

API_VERSION = "2024-10-21"
ASK: Any = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "What is a switchyard, in one line?"},
]
REPLY = "Switchyard fake reply to: What is a switchyard, in one line?"


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeAzureOpenAI]:
    async with FakeAzureOpenAI.running(port=0, api_key="azure-key") as running:
        yield running


@pytest_asyncio.fixture
async def client(fake: FakeAzureOpenAI) -> AsyncIterator[openai.AsyncAzureOpenAI]:
    sdk = openai.AsyncAzureOpenAI(azure_endpoint=fake.url, api_key="azure-key", api_version=API_VERSION, max_retries=0)
    yield sdk
    await sdk.close()


async def test_chat_reaches_the_deployment_with_api_key(client: openai.AsyncAzureOpenAI, fake: FakeAzureOpenAI) -> None:
    raw = await client.chat.completions.with_raw_response.create(model="my-gpt4o", messages=ASK)
    completion = raw.parse()
    assert completion.choices[0].message.content == REPLY
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None and completion.usage.total_tokens > 0
    extra = completion.choices[0].model_extra or {}
    assert extra["content_filter_results"]["violence"] == {"filtered": False, "severity": "safe"}
    assert (completion.model_extra or {})["prompt_filter_results"][0]["prompt_index"] == 0
    assert raw.headers["apim-request-id"]
    logged = fake.requests[-1]
    assert logged["path"] == "/openai/deployments/my-gpt4o/chat/completions"
    assert logged["body"]["messages"] == ASK


async def test_entra_token_is_taken_as_bearer(fake: FakeAzureOpenAI) -> None:
    sdk = openai.AsyncAzureOpenAI(
        azure_endpoint=fake.url, azure_ad_token="azure-key", api_version=API_VERSION, max_retries=0
    )
    try:
        completion = await sdk.chat.completions.create(model="my-gpt4o", messages=ASK)
    finally:
        await sdk.close()
    assert completion.choices[0].message.content == REPLY


async def test_stream_opens_with_prompt_filter_results(client: openai.AsyncAzureOpenAI) -> None:
    stream = await client.chat.completions.create(
        model="my-gpt4o", messages=ASK, stream=True, stream_options={"include_usage": True}
    )
    chunks = [chunk async for chunk in stream]
    assert chunks[0].choices == [] and "prompt_filter_results" in (chunks[0].model_extra or {})
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == REPLY
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    assert chunks[-1].usage is not None and chunks[-1].choices == []


async def test_stream_helper_assembles_the_completion(client: openai.AsyncAzureOpenAI) -> None:
    async with client.chat.completions.stream(model="my-gpt4o", messages=ASK) as stream:
        final = await stream.get_final_completion()
    assert final.choices[0].message.content == REPLY


async def test_wrong_key_is_azure_401(fake: FakeAzureOpenAI) -> None:
    sdk = openai.AsyncAzureOpenAI(azure_endpoint=fake.url, api_key="wrong", api_version=API_VERSION, max_retries=0)
    try:
        with pytest.raises(openai.AuthenticationError) as caught:
            await sdk.chat.completions.create(model="my-gpt4o", messages=ASK)
    finally:
        await sdk.close()
    body: Any = caught.value.body
    assert caught.value.status_code == 401 and body["code"] == "401" and "subscription key" in body["message"]


async def test_scripted_429_is_a_rate_limit_error(client: openai.AsyncAzureOpenAI, fake: FakeAzureOpenAI) -> None:
    fake.script("my-gpt4o", status=429, retry_after="7", times=1)
    with pytest.raises(openai.RateLimitError) as caught:
        await client.chat.completions.create(model="my-gpt4o", messages=ASK)
    assert caught.value.response.headers["retry-after"] == "7"
    assert caught.value.code == "429"


async def test_filtered_prompt_is_400_content_filter(client: openai.AsyncAzureOpenAI) -> None:
    ask = [{"role": "user", "content": f"Something violent {PROMPT_TRIGGER}"}]
    with pytest.raises(openai.BadRequestError) as caught:
        await client.chat.completions.create(model="my-gpt4o", messages=ask)  # type: ignore[arg-type]
    assert caught.value.code == "content_filter"
    body: Any = caught.value.body
    assert body["innererror"]["code"] == "ResponsibleAIPolicyViolation"


@pytest.mark.parametrize("streamed", [False, True], ids=["plain", "streamed"])
async def test_filtered_completion_finishes_with_content_filter(
    client: openai.AsyncAzureOpenAI, streamed: bool
) -> None:
    ask: Any = [{"role": "user", "content": f"Tell me a story {COMPLETION_TRIGGER}"}]
    if streamed:
        stream = await client.chat.completions.create(model="my-gpt4o", messages=ask, stream=True)
        finishes = [c.choices[0].finish_reason async for c in stream if c.choices and c.choices[0].finish_reason]
        assert finishes == ["content_filter"]
        return
    completion = await client.chat.completions.create(model="my-gpt4o", messages=ask)
    assert completion.choices[0].finish_reason == "content_filter"
    assert (completion.choices[0].model_extra or {})["content_filter_results"]["violence"]["filtered"] is True


async def test_missing_api_version_is_404(fake: FakeAzureOpenAI) -> None:
    sdk = openai.AsyncOpenAI(base_url=f"{fake.url}/openai/deployments/my-gpt4o", api_key="azure-key", max_retries=0)
    try:
        with pytest.raises(openai.NotFoundError):
            await sdk.chat.completions.create(model="my-gpt4o", messages=ASK)
    finally:
        await sdk.close()
