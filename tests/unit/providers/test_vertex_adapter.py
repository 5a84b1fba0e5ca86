"""The Vertex AI adapter: LiteLLM's vertex_* settings, and service-account tokens fetched once and refreshed early."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from switchyard.common.v1 import chat_pb2, errors_pb2
from switchyard.config import parse_config
from switchyard.fakes.vertex_fake import FakeVertex
from switchyard.fakes.vertex_fake_oauth import ServiceAccount, new_service_account_key
from switchyard.runtime.errors import SwitchyardError
from switchyard.runtime.telemetry import init_telemetry
from switchyard.services.providers.adapters.base import ClientPool, Deployment
from switchyard.services.providers.adapters.vertex import VertexAIAdapter
from switchyard.services.providers.config import resolve_deployments
from tests.support import free_port, wait_until

R = errors_pb2.ErrorReason
PROJECT = "sy-unit"
KEY = new_service_account_key(PROJECT, "http://unset/token")


def _ask(text: str = "Hi") -> chat_pb2.ChatRequest:
    return chat_pb2.ChatRequest(model="g", messages=[chat_pb2.ChatMessage(role=chat_pb2.ROLE_USER, text=text)])


def _target(fake: FakeVertex, model: str = "gemini-2.5-flash", key: dict[str, Any] = KEY) -> Deployment:
    return Deployment(
        id="vx",
        group="g",
        provider="vertex_ai",
        model=model,
        api_base=fake.url,
        api_key=json.dumps({**key, "token_uri": fake.token_uri}),
        project=PROJECT,
        location="europe-west4",
    )


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeVertex]:
    async with FakeVertex.running(port=0, service_accounts=[ServiceAccount.of_key(KEY)]) as running:
        yield running


@pytest_asyncio.fixture
async def adapter(fake: FakeVertex) -> AsyncIterator[VertexAIAdapter]:
    clients = ClientPool([fake.url])
    yield VertexAIAdapter(clients, init_telemetry("test", ""))
    await clients.aclose()


def test_litellm_vertex_settings_resolve_project_location_and_a_watched_key_file(tmp_path: Path) -> None:
    key_file = tmp_path / "key.json"
    key_file.write_text(json.dumps(KEY))
    config = parse_config(
        "model_list:\n"
        "  - model_name: g\n    litellm_params:\n      model: vertex_ai/gemini-2.5-pro\n"
        f"      vertex_project: my-project\n      vertex_location: europe-west4\n      vertex_credentials: {key_file}\n"
        "  - model_name: c\n    litellm_params:\n      model: vertex_ai/claude-sonnet-4@20250514\n"
        "      vertex_location: global\n      vertex_credentials: os.environ/VERTEX_KEY\n"
        "  - model_name: n\n    litellm_params:\n      model: vertex_ai/gemini-2.5-pro\n"
        f"      vertex_credentials: file:{key_file}\n"
    )
    gemini, claude, no_project = resolve_deployments(config, {"VERTEX_KEY": "{}", "VERTEXAI_PROJECT": "env-project"})
    assert gemini.available and gemini.provider == "vertex_ai" and gemini.model == "gemini-2.5-pro"
    assert (gemini.project, gemini.location) == ("my-project", "europe-west4")
    assert gemini.api_base == "https://europe-west4-aiplatform.googleapis.com"
    assert gemini.key_ref is not None and gemini.key_ref.source == "file"  # re-read when the file rotates
    assert json.loads(gemini.api_key or "")["client_email"] == KEY["client_email"]
    assert KEY["private_key_id"] not in gemini.id, "the key stays out of the deployment id"
    assert (claude.project, claude.api_base) == ("env-project", "https://aiplatform.googleapis.com")
    empty = resolve_deployments(config, {})[2]
    assert not empty.available and "vertex_project" in empty.unavailable_reason
    assert no_project.available and no_project.location == "us-central1"


async def test_calls_share_one_token_fetched_once(fake: FakeVertex, adapter: VertexAIAdapter) -> None:
    targets = [_target(fake), _target(fake, "claude-sonnet-4@20250514")]
    replies = await asyncio.gather(
        *(adapter.generate(t, _ask(f"q{i}"), time.monotonic() + 10) for i, t in enumerate(targets * 4))
    )
    assert all(c.choices[0].message.text.startswith("Switchyard fake reply") for c, _ in replies)
    assert fake.issuer.grants == 1, "concurrent first calls wait on one grant"
    assert {r["account"] for r in fake.requests} == {KEY["client_email"]}


async def test_token_is_refreshed_before_it_expires() -> None:
    async with FakeVertex.running(port=0, service_accounts=[ServiceAccount.of_key(KEY)], token_lifetime_s=2) as fake:
        clients = ClientPool([fake.url])
        adapter = VertexAIAdapter(clients, init_telemetry("test", ""))
        deadline = time.monotonic() + 15
        try:
            while fake.issuer.grants < 3:
                assert time.monotonic() < deadline, "no refresh within 15 s"
                await adapter.generate(_target(fake), _ask(), time.monotonic() + 5)
                await asyncio.sleep(0.05)
        finally:
            await clients.aclose()
    assert all(r["status"] == 200 for r in fake.requests), "no call went out with an expired token"
    issued = sorted(fake.issuer.issued.values(), key=lambda i: i.expires_at)
    for older, newer in itertools.pairwise(issued):
        assert newer.expires_at - 2 < older.expires_at, "each token was replaced while it was still valid"


async def test_an_untrusted_key_is_an_auth_error_and_an_unhealthy_probe(
    fake: FakeVertex, adapter: VertexAIAdapter
) -> None:
    # The same account, signing with another private key than the one the fake trusts.
    stranger = _target(fake, key=new_service_account_key(PROJECT, "http://unset/token"))
    with pytest.raises(SwitchyardError) as caught:
        await adapter.generate(stranger, _ask(), time.monotonic() + 10)
    assert caught.value.reason == R.ERROR_REASON_UPSTREAM_AUTH
    assert caught.value.metadata["deployment_id"] == "vx" and "Invalid JWT Signature" in caught.value.message
    assert "PRIVATE KEY" not in caught.value.message
    probe = await adapter.probe(stranger, None)
    assert not probe.healthy and probe.reason == R.ERROR_REASON_UPSTREAM_AUTH
    assert (await adapter.probe(_target(fake), None)).healthy
    assert not fake.requests, "no model call went out without a token"


async def test_an_unreachable_token_endpoint_and_a_broken_key_are_clear_errors(
    fake: FakeVertex, adapter: VertexAIAdapter
) -> None:
    unreachable = _target(fake)
    unreachable = Deployment(**{**unreachable.__dict__, "api_key": json.dumps(
        {**KEY, "token_uri": f"http://127.0.0.1:{free_port()}/token"})})  # fmt: skip
    with pytest.raises(SwitchyardError) as caught:
        await adapter.generate(unreachable, _ask(), time.monotonic() + 10)
    assert caught.value.reason == R.ERROR_REASON_UPSTREAM_CONNECT
    broken = Deployment(**{**unreachable.__dict__, "api_key": "not json"})
    with pytest.raises(SwitchyardError) as caught:
        await adapter.generate(broken, _ask(), time.monotonic() + 10)
    assert caught.value.reason == R.ERROR_REASON_UPSTREAM_AUTH and "JSON" in caught.value.message


async def test_the_token_uri_override_wins_over_the_keys(fake: FakeVertex) -> None:
    clients = ClientPool([fake.url])
    adapter = VertexAIAdapter(clients, init_telemetry("test", ""), token_uri=fake.token_uri)
    target = Deployment(**{**_target(fake).__dict__, "api_key": json.dumps(KEY)})  # names http://unset/token
    try:
        completion, _ = await adapter.generate(target, _ask(), time.monotonic() + 10)
    finally:
        await clients.aclose()
    assert completion.choices[0].message.text and fake.issuer.grants == 1


def test_vertex_models_carry_list_prices_unless_configured() -> None:
    config = parse_config(
        "model_list:\n"
        "  - model_name: c\n    litellm_params: {model: vertex_ai/claude-sonnet-4@20250514, vertex_project: p}\n"
        "  - model_name: g\n    litellm_params: {model: vertex_ai/gemini-2.5-pro, vertex_project: p}\n"
        "    model_info: {input_cost_per_token: 0.000002, output_cost_per_token: 0.000004}\n"
    )
    claude, gemini = config.model_list
    assert (claude.model_info.input_cost_per_token, claude.model_info.output_cost_per_token) == (3e-6, 15e-6)
    assert gemini.model_info.input_cost_per_token == 2e-6, "a configured price wins"


async def test_an_idle_keys_token_is_refreshed_without_a_call() -> None:
    async with FakeVertex.running(port=0, service_accounts=[ServiceAccount.of_key(KEY)], token_lifetime_s=2) as fake:
        clients = ClientPool([fake.url])
        adapter = VertexAIAdapter(clients, init_telemetry("test", ""))
        try:
            await adapter.generate(_target(fake), _ask(), time.monotonic() + 5)
            await wait_until(lambda: fake.issuer.grants >= 3, 10.0, "two background refreshes")
            assert len(fake.requests) == 1, "the refreshes came without calls"
            # The first token has expired by now; the call goes out with a refreshed one.
            await adapter.generate(_target(fake), _ask(), time.monotonic() + 5)
        finally:
            await clients.aclose()
    assert [r["status"] for r in fake.requests] == [200, 200]
