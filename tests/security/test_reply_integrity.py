"""Provider replies are checked before they are served: a schema violation, a reply naming another model,
missing usage and impossible token counts are counted per deployment and kind, logged (rate-limited),
and fail the call when they must (always for schema and impossible usage; every kind when strict).

The providers service runs in-process over real gRPC against the three fake upstreams over real HTTP,
each scripted per request to send such a reply; the same cases run for all four wire formats.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio
import yaml
from grpc import aio

from switchyard.common.v1 import chat_pb2, errors_pb2
from switchyard.config import parse_config
from switchyard.fakes import FakeAnthropic, FakeGemini, FakeOpenAI
from switchyard.providers.v1 import providers_pb2, providers_pb2_grpc
from switchyard.runtime.errors import SwitchyardError, from_rpc_error
from switchyard.runtime.telemetry import init_telemetry
from switchyard.services.providers.config import ProviderSettings, resolve_deployments
from switchyard.services.providers.server import build_server, new_client_pool
from tests.security.provider_keys import metric
from tests.support import ROOT

R = errors_pb2.ErrorReason
VIOLATIONS = "switchyard_providers_integrity_violations_total"
KINDS = ("schema", "model", "usage_missing", "usage_impossible")


@dataclass(frozen=True)
class Target:
    """One wire format under test: its deployment id, the fake serving it and the model it asks for."""

    deployment: str
    fake: str
    model: str


TARGETS = [
    Target("openai-i", "openai", "fake-gpt-4o"),
    Target("vllm-i", "openai", "fake-llama-3.1-8b"),
    Target("anthropic-i", "anthropic", "fake-claude-sonnet"),
    Target("gemini-i", "gemini", "fake-gemini-2.5-flash"),
]
CONFIG = """
model_list:
  - model_name: chat
    litellm_params: {{model: openai/fake-gpt-4o, api_base: "{openai}", api_key: sk-test}}
    model_info: {{id: openai-i, max_input_tokens: 2000}}
  - model_name: chat
    litellm_params: {{model: hosted_vllm/fake-llama-3.1-8b, api_base: "{openai}"}}
    model_info: {{id: vllm-i}}
  - model_name: chat
    litellm_params: {{model: anthropic/fake-claude-sonnet, api_base: "{anthropic}", api_key: sk-ant-test}}
    model_info: {{id: anthropic-i}}
  - model_name: chat
    litellm_params: {{model: gemini/fake-gemini-2.5-flash, api_base: "{gemini}", api_key: AIza-test}}
    model_info: {{id: gemini-i}}
"""


@dataclass
class Service:
    stub: providers_pb2_grpc.ProviderServiceStub
    fakes: dict[str, Any]

    def script(self, target: Target, **values: Any) -> None:
        """Scripts the next reply of target's upstream model."""
        self.fakes[target.fake].script(target.model, times=1, **values)

    async def generate(self, target: Target, **fields: Any) -> providers_pb2.GenerateResponse:
        reply: providers_pb2.GenerateResponse = await self.stub.Generate(
            providers_pb2.GenerateRequest(deployment_id=target.deployment, request=_ask(**fields)), timeout=10
        )
        return reply

    async def stream(self, target: Target, received: list[providers_pb2.StreamGenerateResponse]) -> None:
        request = _ask()
        request.stream = True
        call = self.stub.StreamGenerate(
            providers_pb2.StreamGenerateRequest(deployment_id=target.deployment, request=request), timeout=10
        )
        async for message in call:
            received.append(message)


def _ask(**fields: Any) -> chat_pb2.ChatRequest:
    messages = [chat_pb2.ChatMessage(role=chat_pb2.ROLE_USER, text="Check this reply")]
    return chat_pb2.ChatRequest(model="chat", messages=messages, **fields)


async def _serve(strict: bool) -> AsyncIterator[Service]:
    async with (
        FakeOpenAI.running(port=0) as openai,
        FakeAnthropic.running(port=0) as anthropic,
        FakeGemini.running(port=0) as gemini,
    ):
        text = CONFIG.format(openai=openai.url, anthropic=anthropic.url, gemini=gemini.url)
        deployments = resolve_deployments(parse_config(text), {})
        settings = ProviderSettings(host="127.0.0.1", port=0, integrity_strict=strict)
        clients = new_client_pool(settings, deployments)
        server, port, _ = build_server(settings, deployments, clients, init_telemetry("providers", None))
        await server.start()
        async with aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield Service(
                providers_pb2_grpc.ProviderServiceStub(channel),
                {"openai": openai, "anthropic": anthropic, "gemini": gemini},
            )
        await server.stop(None)
        await clients.aclose()


@pytest_asyncio.fixture(scope="module")
async def lenient() -> AsyncIterator[Service]:
    async for service in _serve(strict=False):
        yield service


@pytest_asyncio.fixture(scope="module")
async def strict() -> AsyncIterator[Service]:
    async for service in _serve(strict=True):
        yield service


async def _failure(call: Any) -> SwitchyardError:
    with pytest.raises(aio.AioRpcError) as caught:
        await call
    return from_rpc_error(caught.value)


@dataclass(frozen=True)
class Case:
    """A scripted reply, the kind of violation it is, and whether a lenient service serves it anyway."""

    script: dict[str, str]
    kind: str
    served: bool

    def expected(self, target: Target) -> tuple[str, bool]:
        # The Messages API always reports usage: a reply without it breaks the wire format itself.
        if target.fake == "anthropic" and self.kind == "usage_missing":
            return "schema", False
        return self.kind, self.served


CASES = [
    Case({"reply_model": "fake-impostor-model"}, "model", True),
    Case({"usage": "omit"}, "usage_missing", True),
    Case({"usage": "negative"}, "usage_impossible", False),
    Case({"usage": "inflated"}, "usage_impossible", False),
    Case({"malformed": "schema"}, "schema", False),
]


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.deployment)
@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(next(iter(c.script.items()))))
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
async def test_each_violation_is_counted_and_served_or_failed_by_kind(
    lenient: Service, target: Target, case: Case, stream: bool
) -> None:
    kind, served = case.expected(target)
    before = {k: metric(VIOLATIONS, deployment=target.deployment, kind=k) for k in KINDS}
    lenient.script(target, **case.script)
    received: list[providers_pb2.StreamGenerateResponse] = []
    call = lenient.stream(target, received) if stream else lenient.generate(target)
    if served:
        await call
    else:
        error = await _failure(call)
        assert error.reason == R.ERROR_REASON_UPSTREAM_MALFORMED, error.message
        assert error.metadata["deployment_id"] == target.deployment
    after = {k: metric(VIOLATIONS, deployment=target.deployment, kind=k) for k in KINDS}
    assert after == {**before, kind: before[kind] + 1}, "counted once, under its own kind"


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.deployment)
async def test_a_served_model_mismatch_passes_the_upstreams_name_on(lenient: Service, target: Target) -> None:
    lenient.script(target, reply_model="fake-impostor-model")
    reply = await lenient.generate(target)
    assert reply.completion.model == "fake-impostor-model", "the reply says who answered, not who was asked"


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.deployment)
async def test_dated_versions_of_the_model_asked_are_no_violation(lenient: Service, target: Target) -> None:
    before = metric(VIOLATIONS, deployment=target.deployment, kind="model")
    lenient.script(target, reply_model=f"{target.model}-2025-09-29")
    reply = await lenient.generate(target)
    assert reply.completion.model == f"{target.model}-2025-09-29"
    assert metric(VIOLATIONS, deployment=target.deployment, kind="model") == before


async def test_counts_far_beyond_max_tokens_or_the_window_are_impossible(lenient: Service) -> None:
    target = TARGETS[0]
    before = metric(VIOLATIONS, deployment=target.deployment, kind="usage_impossible")
    # The fake counts a token per four characters: about 6250 prompt tokens, where the window is 2000.
    long_prompt = "word " * 5000
    error = await _failure(
        lenient.stub.Generate(
            providers_pb2.GenerateRequest(
                deployment_id=target.deployment,
                request=chat_pb2.ChatRequest(
                    model="chat", messages=[chat_pb2.ChatMessage(role=chat_pb2.ROLE_USER, text=long_prompt)]
                ),
            ),
            timeout=10,
        )
    )
    assert error.reason == R.ERROR_REASON_UPSTREAM_MALFORMED
    assert "window" in error.message and "prompt_tokens" in error.message
    assert metric(VIOLATIONS, deployment=target.deployment, kind="usage_impossible") == before + 1


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.deployment)
async def test_strict_fails_a_model_mismatch_before_the_first_chunk(strict: Service, target: Target) -> None:
    strict.script(target, reply_model="fake-impostor-model")
    error = await _failure(strict.generate(target))
    assert error.reason == R.ERROR_REASON_UPSTREAM_MALFORMED
    assert error.metadata["integrity"] == "model" and "fake-impostor-model" in error.message
    strict.script(target, reply_model="fake-impostor-model")
    received: list[providers_pb2.StreamGenerateResponse] = []
    error = await _failure(strict.stream(target, received))
    assert error.reason == R.ERROR_REASON_UPSTREAM_MALFORMED
    assert not any(m.chunks for m in received), "nothing of the impostor's reply was sent: the router can fail over"


@pytest.mark.parametrize("target", [t for t in TARGETS if t.fake != "anthropic"], ids=lambda t: t.deployment)
async def test_strict_fails_a_stream_without_usage_at_its_end(strict: Service, target: Target) -> None:
    strict.script(target, usage="omit")
    received: list[providers_pb2.StreamGenerateResponse] = []
    error = await _failure(strict.stream(target, received))
    assert error.reason == R.ERROR_REASON_UPSTREAM_MALFORMED and error.metadata["integrity"] == "usage_missing"
    assert any(m.chunks for m in received), "the text had been sent"
    assert not any(m.HasField("upstream") for m in received), "the stream ends with an error, never a normal end"


async def test_violations_are_logged_at_most_once_a_minute_per_deployment_and_kind(
    caplog: pytest.LogCaptureFixture,
) -> None:
    target = TARGETS[1]
    caplog.set_level(logging.WARNING, "switchyard.services.providers.integrity")
    before = metric(VIOLATIONS, deployment=target.deployment, kind="model")
    async for service in _serve(strict=False):
        for _ in range(4):
            service.script(target, reply_model="fake-other-model")
            await service.generate(target)
    assert metric(VIOLATIONS, deployment=target.deployment, kind="model") == before + 4
    lines = [r.getMessage() for r in caplog.records if "integrity violation" in r.getMessage()]
    assert len(lines) == 1, lines
    assert "(model) by deployment vllm-i (vllm)" in lines[0] and "'fake-other-model'" in lines[0]
    assert lines[0].endswith("; served")


def test_an_alert_fires_on_integrity_violations_and_failing_secret_reads() -> None:
    rules = yaml.safe_load((ROOT / "deploy" / "prometheus" / "alerts.yml").read_text())
    exprs = {rule["alert"]: rule["expr"] for group in rules["groups"] for rule in group["rules"]}
    assert any("switchyard_providers_integrity_violations_total" in expr for expr in exprs.values()), exprs
    assert any("switchyard_providers_secrets_failing" in expr for expr in exprs.values()), exprs
