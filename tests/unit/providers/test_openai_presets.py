"""The OpenAI-compatible presets: each prefix's default api_base, URL, headers and body quirks."""

from __future__ import annotations

import time

import pytest

from switchyard.common.v1 import chat_pb2
from switchyard.config import parse_config
from switchyard.runtime.telemetry import init_telemetry
from switchyard.services.providers.adapters import build_adapters
from switchyard.services.providers.adapters.base import ClientPool, Deployment
from switchyard.services.providers.config import resolve_deployments
from switchyard.wire.openai import chunk_from_wire
from tests.unit.providers.capture import COMPLETION, CaptureServer

# prefix, default api_base, the max-tokens field the provider takes
PRESETS = [
    ("openrouter", "https://openrouter.ai/api/v1", "max_tokens"),
    ("together_ai", "https://api.together.xyz/v1", "max_tokens"),
    ("groq", "https://api.groq.com/openai/v1", "max_completion_tokens"),
    ("deepseek", "https://api.deepseek.com/v1", "max_tokens"),
    ("fireworks_ai", "https://api.fireworks.ai/inference/v1", "max_tokens"),
]


def _request() -> chat_pb2.ChatRequest:
    return chat_pb2.ChatRequest(
        model="group",
        messages=[chat_pb2.ChatMessage(role=chat_pb2.ROLE_USER, text="Hi")],
        max_tokens=32,
        seed=7,
    )


@pytest.mark.parametrize(("prefix", "api_base", "limit_field"), PRESETS, ids=[p[0] for p in PRESETS])
def test_prefix_resolves_to_its_default_api_base(prefix: str, api_base: str, limit_field: str) -> None:
    config = parse_config(
        f"model_list:\n  - model_name: g\n    litellm_params:\n      model: {prefix}/org/some-model\n      api_key: k\n"
    )
    (target,) = resolve_deployments(config, {}, quiet=True)
    assert (target.provider, target.model, target.api_base) == (prefix, "org/some-model", api_base)
    assert target.available, target.unavailable_reason


@pytest.mark.parametrize(("prefix", "api_base", "limit_field"), PRESETS, ids=[p[0] for p in PRESETS])
async def test_preset_posts_openai_chat_completions(prefix: str, api_base: str, limit_field: str) -> None:
    async with CaptureServer(COMPLETION) as server:
        base = f"{server.root}/v1"
        clients = ClientPool([base])
        adapter = build_adapters(clients, init_telemetry("test", ""), {})[prefix]
        target = Deployment(id="d", group="g", provider=prefix, model="org/some-model", api_base=base, api_key="k")
        completion, record = await adapter.generate(target, _request(), time.monotonic() + 5)
        await clients.aclose()
    (sent,) = server.requests
    assert (sent.method, sent.target) == ("POST", "/v1/chat/completions")
    assert sent.headers["authorization"] == "Bearer k"
    assert "http-referer" not in sent.headers and "x-title" not in sent.headers
    assert sent.body["model"] == "org/some-model" and sent.body[limit_field] == 32 and sent.body["seed"] == 7
    assert completion.choices[0].message.text == "hi" and record.provider == prefix


async def test_openrouter_names_the_app_when_configured() -> None:
    async with CaptureServer(COMPLETION) as server:
        clients = ClientPool([server.root])
        environ = {"OR_SITE_URL": "https://example.org", "OR_APP_NAME": "Switchyard"}
        adapter = build_adapters(clients, init_telemetry("test", ""), environ)["openrouter"]
        target = Deployment(id="d", group="g", provider="openrouter", model="m", api_base=server.root, api_key="k")
        await adapter.generate(target, _request(), time.monotonic() + 5)
        await clients.aclose()
    headers = server.requests[0].headers
    assert headers["http-referer"] == "https://example.org" and headers["x-title"] == "Switchyard"


async def test_deepseek_reasoning_content_becomes_reasoning() -> None:
    async with CaptureServer(COMPLETION) as server:
        clients = ClientPool([server.root])
        adapter = build_adapters(clients, init_telemetry("test", ""), {})["deepseek"]
        target = Deployment(id="d", group="g", provider="deepseek", model="m", api_base=server.root, api_key="k")
        completion, _ = await adapter.generate(target, _request(), time.monotonic() + 5)
        await clients.aclose()
    assert completion.choices[0].message.reasoning == "thought"
    delta = {"id": "x", "created": 1, "model": "m", "choices": [{"index": 0, "delta": {"reasoning_content": "step"}}]}
    assert chunk_from_wire(delta).choices[0].delta.reasoning == "step"
