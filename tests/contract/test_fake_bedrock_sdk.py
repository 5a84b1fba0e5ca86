"""The fake Bedrock Runtime is what boto3's `bedrock-runtime` client and `anthropic.AnthropicBedrock` expect.

boto3 signs each call with SigV4 and decodes ConverseStream's binary event-stream itself, so a fake
that frames, checksums or verifies wrongly fails here; `AnthropicBedrock` uses InvokeModel and
InvokeModelWithResponseStream with the Anthropic Messages body. The SDKs are synchronous: they run in
a worker thread while the fake serves on the test's event loop.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import anthropic
import boto3
import pytest
import pytest_asyncio
from botocore.config import Config
from botocore.exceptions import ClientError

from switchyard.fakes.bedrock_fake import FAKE_ACCESS_KEY_ID, FakeBedrock

SECRET = "bedrock-contract-secret"
CLAUDE = "anthropic.claude-3-5-sonnet-20240620-v1:0"
LLAMA = "meta.llama3-1-70b-instruct-v1:0"
ASK: Any = [{"role": "user", "content": [{"text": "What is a switchyard, in one line?"}]}]
REPLY = "Switchyard fake reply to: What is a switchyard, in one line?"
WEATHER: Any = {
    "tools": [
        {
            "toolSpec": {
                "name": "get_weather",
                "description": "Weather in a city",
                "inputSchema": {"json": {"type": "object", "properties": {"city": {"type": "string"}}}},
            }
        }
    ],
    "toolChoice": {"tool": {"name": "get_weather"}},
}


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeBedrock]:
    async with FakeBedrock.running(port=0, api_key=SECRET) as running:
        yield running


def _client(fake: FakeBedrock, secret: str = SECRET) -> Any:
    return boto3.client(
        "bedrock-runtime",
        endpoint_url=fake.url,
        region_name="eu-west-1",
        aws_access_key_id=FAKE_ACCESS_KEY_ID,
        aws_secret_access_key=secret,
        aws_session_token="session-token",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )


async def _call(fake: FakeBedrock, call: Callable[[Any], Any], secret: str = SECRET) -> Any:
    return await asyncio.to_thread(lambda: call(_client(fake, secret)))


@pytest.mark.parametrize("model", [CLAUDE, LLAMA])
async def test_converse_answers_a_signed_call(fake: FakeBedrock, model: str) -> None:
    reply = await _call(
        fake,
        lambda c: c.converse(
            modelId=model,
            messages=ASK,
            system=[{"text": "Be brief."}],
            inferenceConfig={"maxTokens": 200, "temperature": 0.2},
        ),
    )
    assert reply["output"]["message"]["content"] == [{"text": REPLY}]
    assert reply["stopReason"] == "end_turn"
    usage = reply["usage"]
    assert usage["inputTokens"] > 0 and usage["totalTokens"] == usage["inputTokens"] + usage["outputTokens"]
    sent = fake.requests[-1]
    assert sent["path"].endswith("/converse") and sent["body"]["system"] == [{"text": "Be brief."}]
    assert sent["body"]["inferenceConfig"]["maxTokens"] == 200


async def test_converse_stream_is_decoded_by_botocore(fake: FakeBedrock) -> None:
    def collect(client: Any) -> list[dict[str, Any]]:
        return list(client.converse_stream(modelId=CLAUDE, messages=ASK)["stream"])

    events = await _call(fake, collect)
    kinds = [next(iter(event)) for event in events]
    assert kinds[0] == "messageStart" and kinds[-2:] == ["messageStop", "metadata"]
    text = "".join(e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e)
    assert text == REPLY
    assert events[-2]["messageStop"]["stopReason"] == "end_turn"
    assert events[-1]["metadata"]["usage"]["outputTokens"] > 0


async def test_tool_use_and_tool_result_round_trip(fake: FakeBedrock) -> None:
    ask: Any = [{"role": "user", "content": [{"text": "Weather in Paris?"}]}]
    first = await _call(fake, lambda c: c.converse(modelId=CLAUDE, messages=ask, toolConfig=WEATHER))
    assert first["stopReason"] == "tool_use"
    use = next(b["toolUse"] for b in first["output"]["message"]["content"] if "toolUse" in b)
    assert use["name"] == "get_weather" and isinstance(use["input"], dict)
    result = {"toolResult": {"toolUseId": use["toolUseId"], "content": [{"json": {"temperature": 21}}]}}
    follow: Any = [*ask, first["output"]["message"], {"role": "user", "content": [result, {"text": "Thanks"}]}]
    tools = {"tools": WEATHER["tools"]}
    second = await _call(fake, lambda c: c.converse(modelId=CLAUDE, messages=follow, toolConfig=tools))
    assert second["stopReason"] == "end_turn" and "Thanks" in second["output"]["message"]["content"][0]["text"]


async def test_streamed_tool_use_arrives_in_blocks(fake: FakeBedrock) -> None:
    def collect(client: Any) -> list[dict[str, Any]]:
        return list(client.converse_stream(modelId=LLAMA, messages=ASK, toolConfig=WEATHER)["stream"])

    events = await _call(fake, collect)
    start = next(e["contentBlockStart"] for e in events if "contentBlockStart" in e)
    assert start["start"]["toolUse"]["name"] == "get_weather"
    pieces = [e["contentBlockDelta"]["delta"]["toolUse"]["input"] for e in events if "contentBlockDelta" in e]
    assert pieces and "city" in "".join(pieces)
    assert next(e for e in events if "messageStop" in e)["messageStop"]["stopReason"] == "tool_use"


async def test_a_wrong_secret_is_refused_with_bedrocks_error(fake: FakeBedrock) -> None:
    with pytest.raises(ClientError) as caught:
        await _call(fake, lambda c: c.converse(modelId=CLAUDE, messages=ASK), secret="not-the-secret")
    error = caught.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert error["Error"]["Code"] == "InvalidSignatureException"
    assert "signature we calculated does not match" in error["Error"]["Message"]
    assert fake.requests[-1]["status"] == 403


@pytest.mark.parametrize(
    ("status", "code"),
    [(429, "ThrottlingException"), (400, "ValidationException"), (503, "ServiceUnavailableException")],
)
async def test_scripted_statuses_are_bedrock_exceptions(fake: FakeBedrock, status: int, code: str) -> None:
    fake.script(CLAUDE, status=status)
    with pytest.raises(ClientError) as caught:
        await _call(fake, lambda c: c.converse(modelId=CLAUDE, messages=ASK))
    assert caught.value.response["Error"]["Code"] == code
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == status


async def test_a_conversation_must_start_with_the_user(fake: FakeBedrock) -> None:
    ask: Any = [{"role": "assistant", "content": [{"text": "Hello"}]}]
    with pytest.raises(ClientError) as caught:
        await _call(fake, lambda c: c.converse(modelId=CLAUDE, messages=ask))
    assert caught.value.response["Error"]["Code"] == "ValidationException"


def _anthropic(fake: FakeBedrock) -> anthropic.AnthropicBedrock:
    return anthropic.AnthropicBedrock(
        aws_access_key=FAKE_ACCESS_KEY_ID,
        aws_secret_key=SECRET,
        aws_region="us-west-2",
        base_url=fake.url,
        max_retries=0,
    )


async def test_anthropic_bedrock_messages_use_invoke_model(fake: FakeBedrock) -> None:
    def create() -> Any:
        return _anthropic(fake).messages.create(
            model=CLAUDE, max_tokens=100, messages=[{"role": "user", "content": "What is a switchyard, in one line?"}]
        )

    message = await asyncio.to_thread(create)
    assert message.content[0].type == "text" and message.content[0].text == REPLY
    assert message.stop_reason == "end_turn" and message.usage.output_tokens > 0
    assert fake.requests[-1]["path"].endswith("/invoke")


async def test_anthropic_bedrock_streams_over_invoke_with_response_stream(fake: FakeBedrock) -> None:
    def stream() -> tuple[str, Any]:
        with _anthropic(fake).messages.stream(
            model=CLAUDE, max_tokens=100, messages=[{"role": "user", "content": "What is a switchyard, in one line?"}]
        ) as events:
            text = "".join(events.text_stream)
            return text, events.get_final_message()

    text, final = await asyncio.to_thread(stream)
    assert text == REPLY and final.stop_reason == "end_turn"
    assert fake.requests[-1]["path"].endswith("/invoke-with-response-stream")


async def test_anthropic_bedrock_with_a_wrong_secret_is_refused(fake: FakeBedrock) -> None:
    def create() -> Any:
        client = anthropic.AnthropicBedrock(
            aws_access_key=FAKE_ACCESS_KEY_ID,
            aws_secret_key="wrong",
            aws_region="us-west-2",
            base_url=fake.url,
            max_retries=0,
        )
        return client.messages.create(model=CLAUDE, max_tokens=10, messages=[{"role": "user", "content": "hi"}])

    with pytest.raises(anthropic.PermissionDeniedError):
        await asyncio.to_thread(create)


async def test_titan_and_cohere_embeddings_answer_invoke_model(fake: FakeBedrock) -> None:
    def invoke(client: Any, model: str, body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
        reply = client.invoke_model(modelId=model, body=json.dumps(body), contentType="application/json")
        return json.loads(reply["body"].read()), reply["ResponseMetadata"]["HTTPHeaders"]

    titan, _ = await _call(
        fake, lambda c: invoke(c, "amazon.titan-embed-text-v2:0", {"inputText": "hi", "dimensions": 512})
    )
    assert len(titan["embedding"]) == 512 and titan["inputTextTokenCount"] == 1
    cohere, headers = await _call(
        fake, lambda c: invoke(c, "cohere.embed-english-v3", {"texts": ["a", "b"], "input_type": "search_document"})
    )
    assert [len(v) for v in cohere["embeddings"]] == [1024, 1024]
    assert headers["x-amzn-bedrock-input-token-count"] == "2"
