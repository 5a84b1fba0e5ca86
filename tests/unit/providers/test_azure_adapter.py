"""The Azure OpenAI adapter: deployment URLs, api-key or Entra auth, and the content filter as a policy refusal."""

from __future__ import annotations

import time
from typing import Any

import orjson
import pytest

from switchyard.common.v1 import chat_pb2, errors_pb2
from switchyard.config import parse_config
from switchyard.fakes.azure_fake import COMPLETION_TRIGGER, PROMPT_TRIGGER, FakeAzureOpenAI
from switchyard.runtime.errors import SwitchyardError
from switchyard.runtime.telemetry import init_telemetry
from switchyard.services.providers.adapters.azure import AzureOpenAIAdapter
from switchyard.services.providers.adapters.base import ClientPool, Deployment
from switchyard.services.providers.config import resolve_deployments
from tests.unit.providers.capture import COMPLETION, CaptureServer

R = errors_pb2.ErrorReason


def _ask(text: str = "Hi", **fields: Any) -> chat_pb2.ChatRequest:
    return chat_pb2.ChatRequest(
        model="g", messages=[chat_pb2.ChatMessage(role=chat_pb2.ROLE_USER, text=text)], **fields
    )


def _target(api_base: str, api_key: str = "azure-key", api_version: str = "") -> Deployment:
    return Deployment(
        id="az",
        group="g",
        provider="azure",
        model="my-gpt4o",
        api_base=api_base,
        api_key=api_key,
        api_version=api_version,
    )


def test_azure_prefix_takes_api_base_and_api_version_from_litellm_params() -> None:
    config = parse_config(
        "model_list:\n  - model_name: g\n    litellm_params:\n      model: azure/my-gpt4o\n"
        "      api_base: https://res.openai.azure.com/\n      api_version: 2025-01-01-preview\n      api_key: k\n"
        "  - model_name: h\n    litellm_params:\n      model: azure/other\n      api_key: k\n"
    )
    with_base, without = resolve_deployments(config, {}, quiet=True)
    assert (with_base.provider, with_base.model) == ("azure", "my-gpt4o")
    assert (with_base.api_base, with_base.api_version) == ("https://res.openai.azure.com", "2025-01-01-preview")
    assert with_base.available
    assert not without.available and without.unavailable_reason == "no api_base configured"


@pytest.mark.parametrize(
    ("api_version", "api_key", "limit_field", "auth"),
    [
        ("", "azure-key", "max_completion_tokens", ("api-key", "azure-key")),
        ("2024-02-01", "azure-key", "max_tokens", ("api-key", "azure-key")),
        (
            "2025-01-01-preview",
            "azure_ad_token:eyJtoken",
            "max_completion_tokens",
            ("authorization", "Bearer eyJtoken"),
        ),
    ],
    ids=["default-version", "old-version", "entra-token"],
)
async def test_request_url_headers_and_body(
    api_version: str, api_key: str, limit_field: str, auth: tuple[str, str]
) -> None:
    async with CaptureServer(COMPLETION) as server:
        clients = ClientPool([server.root])
        adapter = AzureOpenAIAdapter(clients, init_telemetry("test", ""))
        await adapter.generate(_target(server.root, api_key, api_version), _ask(max_tokens=9), time.monotonic() + 5)
        await clients.aclose()
    (sent,) = server.requests
    version = api_version or "2024-10-21"
    assert sent.target == f"/openai/deployments/my-gpt4o/chat/completions?api-version={version}"
    assert sent.headers[auth[0]] == auth[1]
    assert "api-key" not in sent.headers or auth[0] == "api-key"
    assert sent.body[limit_field] == 9


async def test_old_api_versions_stream_without_stream_options() -> None:
    async with CaptureServer(b"data: [DONE]\n\n", content_type="text/event-stream") as server:
        clients = ClientPool([server.root])
        adapter = AzureOpenAIAdapter(clients, init_telemetry("test", ""))
        target = _target(server.root, api_version="2024-02-01")
        items = [i async for i in adapter.stream(target, _ask(stream=True), time.monotonic() + 5)]
        await clients.aclose()
    assert server.requests[0].body["stream"] is True and "stream_options" not in server.requests[0].body
    assert not isinstance(items[-1], list) and items[-1].provider == "azure"


@pytest.mark.parametrize(
    "error",
    [
        {"code": "content_filter", "message": "filtered", "param": "prompt", "type": None},
        {"code": None, "message": "filtered", "innererror": {"code": "ResponsibleAIPolicyViolation"}},
    ],
    ids=["code", "innererror-only"],
)
async def test_content_filter_400_is_a_content_policy_refusal(error: dict[str, object]) -> None:
    async with CaptureServer(orjson.dumps({"error": error}), status=400) as server:
        clients = ClientPool([server.root])
        adapter = AzureOpenAIAdapter(clients, init_telemetry("test", ""))
        with pytest.raises(SwitchyardError) as caught:
            await adapter.generate(_target(server.root), _ask(), time.monotonic() + 5)
        await clients.aclose()
    assert caught.value.reason == R.ERROR_REASON_UPSTREAM_CONTENT_FILTERED
    assert caught.value.metadata["upstream_status"] == "400"


async def test_other_400s_stay_bad_requests() -> None:
    body = {"error": {"code": None, "message": "bad", "type": "invalid_request_error", "param": "messages"}}
    async with CaptureServer(orjson.dumps(body), status=400) as server:
        clients = ClientPool([server.root])
        adapter = AzureOpenAIAdapter(clients, init_telemetry("test", ""))
        with pytest.raises(SwitchyardError) as caught:
            await adapter.generate(_target(server.root), _ask(), time.monotonic() + 5)
        await clients.aclose()
    assert caught.value.reason == R.ERROR_REASON_UPSTREAM_BAD_REQUEST


@pytest.mark.parametrize("streamed", [False, True], ids=["plain", "streamed"])
async def test_filters_against_the_fake(streamed: bool) -> None:
    async with FakeAzureOpenAI.running(port=0, api_key="azure-key") as fake:
        clients = ClientPool([fake.url])
        adapter = AzureOpenAIAdapter(clients, init_telemetry("test", ""))
        target = _target(fake.url)
        if streamed:
            with pytest.raises(SwitchyardError) as caught:
                async for _ in adapter.stream(target, _ask(PROMPT_TRIGGER, stream=True), time.monotonic() + 5):
                    pass
            items = [
                i async for i in adapter.stream(target, _ask(COMPLETION_TRIGGER, stream=True), time.monotonic() + 5)
            ]
            chunks = [c for i in items if isinstance(i, list) for c in i]
            finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
        else:
            with pytest.raises(SwitchyardError) as caught:
                await adapter.generate(target, _ask(PROMPT_TRIGGER), time.monotonic() + 5)
            completion, _ = await adapter.generate(target, _ask(COMPLETION_TRIGGER), time.monotonic() + 5)
            finishes = [completion.choices[0].finish_reason]
        probe = await adapter.probe(target, time.monotonic() + 5)
        await clients.aclose()
    assert caught.value.reason == R.ERROR_REASON_UPSTREAM_CONTENT_FILTERED
    assert finishes == [chat_pb2.FINISH_REASON_CONTENT_FILTER]
    assert probe.healthy, probe.message


async def test_an_echoed_entra_token_is_scrubbed() -> None:
    body = {"error": {"code": "401", "message": "token tok3n-x is expired"}}
    async with CaptureServer(orjson.dumps(body), status=401) as server:
        clients = ClientPool([server.root])
        adapter = AzureOpenAIAdapter(clients, init_telemetry("test", ""))
        with pytest.raises(SwitchyardError) as caught:
            await adapter.generate(_target(server.root, "azure_ad_token:tok3n-x"), _ask(), time.monotonic() + 5)
        await clients.aclose()
    assert caught.value.reason == R.ERROR_REASON_UPSTREAM_AUTH
    assert "tok3n-x" not in caught.value.message and "is expired" in caught.value.message
