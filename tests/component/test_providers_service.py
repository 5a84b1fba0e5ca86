"""The providers service over real gRPC, calling an in-process fake OpenAI server over real HTTP."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import httpx
import pytest
import pytest_asyncio
from grpc import aio
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from switchyard.common.v1 import chat_pb2, errors_pb2
from switchyard.config import parse_config
from switchyard.fakes import FakeOpenAI
from switchyard.providers.v1 import providers_pb2, providers_pb2_grpc
from switchyard.runtime import attributes as attr
from switchyard.runtime.errors import SwitchyardError, from_rpc_error
from switchyard.runtime.grpcio import check_health
from switchyard.runtime.telemetry import Telemetry, init_telemetry
from switchyard.services.providers.config import ProviderSettings, resolve_deployments
from switchyard.services.providers.server import build_server, new_client_pool
from tests.support import aio_channel, free_port, identity, python_module, wait_until

R = errors_pb2.ErrorReason
SECRET = "sk-present-secret-0123456789"
REPLY = "Switchyard fake reply to: Say hello to the providers service"
CONFIG = """
model_list:
  - model_name: chat
    litellm_params: {{model: openai/fake-gpt-4o, api_base: "{fake}", api_key: os.environ/SY_TEST_PRESENT_KEY}}
    model_info: {{id: openai-a}}
  - model_name: chat
    litellm_params: {{model: hosted_vllm/fake-llama, api_base: "{fake}"}}
    model_info: {{id: vllm-a}}
  - model_name: chat
    litellm_params: {{model: openai/fake-keyless, api_base: "{fake}", api_key: os.environ/SY_TEST_ABSENT_KEY}}
    model_info: {{id: keyless}}
  - model_name: chat
    litellm_params: {{model: anthropic/claude-x, api_key: sk-ant}}
    model_info: {{id: claude-a}}
  - model_name: chat
    litellm_params: {{model: openai/fake-dead, api_base: "http://127.0.0.1:{dead}/v1"}}
    model_info: {{id: dead}}
"""


def _config_text(fake_url: str) -> str:
    return CONFIG.format(fake=fake_url, dead=free_port())


def _ask(text: str = "Say hello to the providers service", **metadata: str) -> chat_pb2.ChatRequest:
    return chat_pb2.ChatRequest(
        model="chat", messages=[chat_pb2.ChatMessage(role=chat_pb2.ROLE_USER, text=text)], metadata=metadata
    )


@dataclass
class Service:
    stub: providers_pb2_grpc.ProviderServiceStub
    fake: FakeOpenAI


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI.running(port=0) as running:
        yield running


async def _serve(fake: FakeOpenAI, telemetry: Telemetry) -> AsyncIterator[Service]:
    deployments = resolve_deployments(parse_config(_config_text(fake.url)), {"SY_TEST_PRESENT_KEY": SECRET})
    settings = ProviderSettings(host="127.0.0.1", port=0)
    clients = new_client_pool(settings, deployments)
    server, port, _ = build_server(settings, deployments, clients, telemetry)
    await server.start()
    async with aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield Service(providers_pb2_grpc.ProviderServiceStub(channel), fake)
    await server.stop(None)
    await clients.aclose()


@pytest_asyncio.fixture
async def service(fake: FakeOpenAI) -> AsyncIterator[Service]:
    async for running in _serve(fake, init_telemetry("providers", None)):
        yield running


async def _generate(
    service: Service, deployment: str, request: chat_pb2.ChatRequest, rpc_timeout: float = 10
) -> providers_pb2.GenerateResponse:
    reply: providers_pb2.GenerateResponse = await service.stub.Generate(
        providers_pb2.GenerateRequest(deployment_id=deployment, request=request, request_id="rq-1"),
        timeout=rpc_timeout,
    )
    return reply


async def _error(call: object) -> SwitchyardError:
    with pytest.raises(aio.AioRpcError) as caught:
        await call  # type: ignore[misc]
    return from_rpc_error(caught.value)


async def _stream(
    service: Service,
    deployment: str,
    request: chat_pb2.ChatRequest,
    received: list[providers_pb2.StreamGenerateResponse],
) -> None:
    call = service.stub.StreamGenerate(
        providers_pb2.StreamGenerateRequest(deployment_id=deployment, request=request), timeout=10
    )
    async for message in call:
        received.append(message)


async def test_generate_returns_completion_usage_and_upstream_record(service: Service) -> None:
    request = _ask()
    request.max_tokens = 50
    reply = await _generate(service, "openai-a", request)
    assert reply.completion.choices[0].message.text == REPLY
    assert reply.completion.choices[0].finish_reason == chat_pb2.FINISH_REASON_STOP
    usage = reply.completion.usage
    assert usage.prompt_tokens > 0 and usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    record = reply.upstream
    assert (record.deployment_id, record.provider, record.model, record.http_status) == (
        "openai-a",
        "openai",
        "fake-gpt-4o",
        200,
    )
    assert record.provider_request_id.startswith("req_fake_")
    assert record.latency_ms > 0
    assert record.quota.limit_requests == 10_000 and record.quota.remaining_requests >= 0
    assert record.quota.reset_requests_ms > 0
    sent = service.fake.requests[-1]
    assert sent["authorization"] is True
    assert sent["body"]["model"] == "fake-gpt-4o"
    assert sent["body"]["max_completion_tokens"] == 50 and "max_tokens" not in sent["body"]
    assert "stream" not in sent["body"]


async def test_vllm_sends_max_tokens(service: Service) -> None:
    request = _ask()
    request.max_completion_tokens = 40
    reply = await _generate(service, "vllm-a", request)
    assert reply.upstream.provider == "vllm"
    assert reply.completion.choices[0].message.text == REPLY
    sent = service.fake.requests[-1]["body"]
    assert sent["max_tokens"] == 40 and "max_completion_tokens" not in sent
    assert service.fake.requests[-1]["authorization"] is False


async def test_stream_delivers_ordered_chunks_usage_and_a_final_record(service: Service) -> None:
    received: list[providers_pb2.StreamGenerateResponse] = []
    await _stream(service, "openai-a", _ask(fake_chunks="6"), received)
    *batches, last = received
    assert all(b.chunks and not b.HasField("upstream") for b in batches)
    assert last.HasField("upstream") and not last.chunks
    chunks = [c for b in batches for c in b.chunks]
    assert chunks[0].choices[0].delta.role == chat_pb2.ROLE_ASSISTANT
    assert all(not c.choices or not c.choices[0].delta.role for c in chunks[1:])
    assert "".join(c.choices[0].delta.content for c in chunks if c.choices) == REPLY
    finished = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finished == [chat_pb2.FINISH_REASON_STOP]
    assert not chunks[-1].choices and chunks[-1].usage.completion_tokens > 0, "usage is metered on every stream"
    assert last.upstream.ttft_ms > 0 and last.upstream.latency_ms >= last.upstream.ttft_ms
    assert last.upstream.provider_request_id.startswith("req_fake_")
    assert service.fake.requests[-1]["body"]["stream_options"] == {"include_usage": True}


async def test_stream_batches_follow_network_reads(service: Service) -> None:
    received: list[providers_pb2.StreamGenerateResponse] = []
    await _stream(service, "openai-a", _ask(fake_chunks="3", fake_chunk_delay_ms="30"), received)
    assert len(received) >= 5, "chunks that arrive apart travel in messages of their own"


async def test_429_is_resource_exhausted_with_retry_info(service: Service) -> None:
    with pytest.raises(aio.AioRpcError) as caught:
        await _generate(service, "openai-a", _ask(fake_status="429", fake_retry_after="3"))
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    error = from_rpc_error(caught.value)
    assert error.reason == R.ERROR_REASON_UPSTREAM_RATE_LIMITED
    assert error.retry_after_s == 3.0
    assert error.metadata["upstream_status"] == "429"
    assert error.metadata["deployment_id"] == "openai-a" and error.metadata["provider"] == "openai"


async def test_quota_exhaustion_and_503(service: Service) -> None:
    quota = await _error(_generate(service, "openai-a", _ask(fake_status="429", fake_error_code="insufficient_quota")))
    assert quota.reason == R.ERROR_REASON_UPSTREAM_QUOTA_EXHAUSTED
    unavailable = await _error(_generate(service, "openai-a", _ask(fake_status="503")))
    assert unavailable.reason == R.ERROR_REASON_UPSTREAM_UNAVAILABLE
    streamed = await _error(_stream(service, "openai-a", _ask(fake_status="503"), []))
    assert streamed.reason == R.ERROR_REASON_UPSTREAM_UNAVAILABLE


async def test_malformed_replies_are_upstream_malformed(service: Service) -> None:
    for kind in ("json", "schema"):
        error = await _error(_generate(service, "openai-a", _ask(fake_malformed=kind)))
        assert error.reason == R.ERROR_REASON_UPSTREAM_MALFORMED, kind
        received: list[providers_pb2.StreamGenerateResponse] = []
        streamed = await _error(_stream(service, "openai-a", _ask(fake_malformed=kind), received))
        assert streamed.reason == R.ERROR_REASON_UPSTREAM_MALFORMED, kind


async def test_cut_stream_ends_with_an_error_after_the_chunks_that_arrived(service: Service) -> None:
    received: list[providers_pb2.StreamGenerateResponse] = []
    error = await _error(_stream(service, "openai-a", _ask(fake_cut_after="3", fake_chunk_delay_ms="5"), received))
    assert error.reason in (R.ERROR_REASON_UPSTREAM_UNAVAILABLE, R.ERROR_REASON_UPSTREAM_MALFORMED)
    assert sum(len(m.chunks) for m in received) == 3
    assert not any(m.HasField("upstream") for m in received)


async def test_mid_stream_error_event_ends_the_call_with_an_error(service: Service) -> None:
    received: list[providers_pb2.StreamGenerateResponse] = []
    error = await _error(_stream(service, "openai-a", _ask(fake_mid_stream_error="2"), received))
    assert error.reason == R.ERROR_REASON_UPSTREAM_UNAVAILABLE
    assert "mid-stream" in error.message


async def test_call_deadline_bounds_the_upstream_call(service: Service) -> None:
    started = time.monotonic()
    with pytest.raises(aio.AioRpcError) as caught:
        await _generate(service, "openai-a", _ask(fake_latency_ms="3000"), rpc_timeout=0.4)
    assert time.monotonic() - started < 1.5
    assert caught.value.code() in (grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.UNAVAILABLE)
    if caught.value.code() == grpc.StatusCode.UNAVAILABLE:
        assert from_rpc_error(caught.value).reason == R.ERROR_REASON_UPSTREAM_TIMEOUT
    await wait_until(lambda: service.fake.requests[-1]["disconnected"], 5.0, "the timed-out upstream call to close")


async def test_missing_env_var_makes_a_deployment_unavailable_by_name(
    service: Service, caplog: pytest.LogCaptureFixture
) -> None:
    listed = await service.stub.ListDeployments(providers_pb2.ListDeploymentsRequest(), timeout=5)
    by_id = {d.id: d for d in listed.deployments}
    assert set(by_id) == {"openai-a", "vllm-a", "keyless", "claude-a", "dead"}
    assert by_id["openai-a"].available and by_id["openai-a"].api_base == service.fake.url
    assert (by_id["openai-a"].model_group, by_id["openai-a"].provider, by_id["openai-a"].model) == (
        "chat",
        "openai",
        "fake-gpt-4o",
    )
    assert not by_id["keyless"].available
    assert "SY_TEST_ABSENT_KEY" in by_id["keyless"].unavailable_reason
    assert SECRET.encode() not in listed.SerializeToString()
    error = await _error(_generate(service, "keyless", _ask()))
    assert error.reason == R.ERROR_REASON_DEPLOYMENT_UNAVAILABLE
    assert "SY_TEST_ABSENT_KEY" in error.message
    with caplog.at_level(logging.WARNING, logger="switchyard.services.providers"):
        resolve_deployments(parse_config(_config_text(service.fake.url)), {"SY_TEST_PRESENT_KEY": SECRET})
    assert "SY_TEST_ABSENT_KEY" in caplog.text and SECRET not in caplog.text


async def test_listing_and_unknown_deployment(service: Service) -> None:
    listed = await service.stub.ListDeployments(providers_pb2.ListDeploymentsRequest(), timeout=5)
    claude = next(d for d in listed.deployments if d.id == "claude-a")
    assert claude.available and claude.provider == "anthropic"
    assert claude.api_base == "https://api.anthropic.com", "the provider's default base when none is configured"
    keyless = next(d for d in listed.deployments if d.id == "keyless")
    assert not keyless.available and "SY_TEST_ABSENT_KEY" in keyless.unavailable_reason
    assert "sk-ant" not in str(listed) and SECRET not in str(listed), "listings never carry keys"
    error = await _error(_generate(service, "keyless", _ask()))
    assert error.reason == R.ERROR_REASON_DEPLOYMENT_UNAVAILABLE
    with pytest.raises(aio.AioRpcError) as caught:
        await _generate(service, "no-such-id", _ask())
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert "deployment" in (caught.value.details() or "")


async def test_connect_failure_and_probe(service: Service) -> None:
    error = await _error(_generate(service, "dead", _ask()))
    assert error.reason == R.ERROR_REASON_UPSTREAM_CONNECT
    healthy = await service.stub.Probe(providers_pb2.ProbeRequest(deployment_id="openai-a"), timeout=5)
    assert healthy.healthy and healthy.latency_ms > 0
    dead = await service.stub.Probe(providers_pb2.ProbeRequest(deployment_id="dead"), timeout=5)
    assert not dead.healthy and "connect" in dead.message
    keyless = await service.stub.Probe(providers_pb2.ProbeRequest(deployment_id="keyless"), timeout=5)
    assert not keyless.healthy and "SY_TEST_ABSENT_KEY" in keyless.message


@pytest.mark.parametrize(
    ("status", "style", "reason"),
    [
        ("401", "vllm", R.ERROR_REASON_UPSTREAM_AUTH),
        ("404", "vllm-flat", R.ERROR_REASON_UPSTREAM_NOT_FOUND),
        ("400", "vllm", R.ERROR_REASON_UPSTREAM_BAD_REQUEST),
        ("500", "vllm", R.ERROR_REASON_UPSTREAM_UNAVAILABLE),
    ],
)
async def test_vllm_error_bodies(service: Service, status: str, style: str, reason: int) -> None:
    error = await _error(_generate(service, "vllm-a", _ask(fake_status=status, fake_error_style=style)))
    assert error.reason == reason
    assert error.metadata["upstream_status"] == status and error.metadata["provider"] == "vllm"


async def test_cancelling_a_stream_closes_the_upstream_request(service: Service) -> None:
    request = providers_pb2.StreamGenerateRequest(
        deployment_id="openai-a", request=_ask(fake_chunks="40", fake_chunk_delay_ms="200")
    )
    call = service.stub.StreamGenerate(request, timeout=30)
    first = await call.read()
    assert first.chunks
    assert service.fake.requests[-1]["disconnected"] is False
    call.cancel()
    await wait_until(lambda: service.fake.requests[-1]["disconnected"], 5.0, "the upstream request to be closed")
    assert service.fake.requests[-1]["completed"] is False


async def test_upstream_span_and_trace_context(fake: FakeOpenAI) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    telemetry = Telemetry("providers", True, provider.get_tracer("test"))
    async for service in _serve(fake, telemetry):
        await _generate(service, "openai-a", _ask())
        await _stream(service, "openai-a", _ask(), [])
    spans = [s for s in exporter.get_finished_spans() if s.name == "chat fake-gpt-4o"]
    assert len(spans) == 2
    for span in spans:
        attributes = dict(span.attributes or {})
        assert attributes[attr.GEN_AI_OPERATION_NAME] == "chat"
        assert attributes[attr.GEN_AI_PROVIDER_NAME] == "openai"
        assert attributes[attr.GEN_AI_REQUEST_MODEL] == "fake-gpt-4o"
        assert attributes[attr.GEN_AI_RESPONSE_MODEL] == "fake-gpt-4o"
        assert str(attributes[attr.GEN_AI_RESPONSE_ID]).startswith("chatcmpl-fake")
        assert tuple(attributes[attr.GEN_AI_RESPONSE_FINISH_REASONS]) == ("stop",)  # type: ignore[arg-type]
        assert int(attributes[attr.GEN_AI_USAGE_OUTPUT_TOKENS]) > 0  # type: ignore[arg-type]
    traceparents = [r["traceparent"] for r in fake.requests]
    assert all(t and f"{spans[i].context.trace_id:032x}" in t for i, t in enumerate(traceparents))


@pytest.mark.mesh
async def test_real_providers_process_against_a_fake_process(tmp_path: Path) -> None:
    fake_port, port = free_port(), free_port()
    fake = python_module("switchyard.fakes", "--port", str(fake_port), name="fake")
    config = tmp_path / "switchyard.yaml"
    config.write_text(_config_text(f"http://127.0.0.1:{fake_port}/v1"))
    env = {
        "SWITCHYARD_CONFIG": str(config),
        "SWITCHYARD_PROVIDERS_PORT": str(port),
        "SY_TEST_PRESENT_KEY": SECRET,
    }
    providers = python_module("switchyard.services.providers", env=env)
    try:

        async def fake_up() -> bool:
            assert fake.alive(), fake.output()
            try:
                async with httpx.AsyncClient() as http:
                    return (await http.get(f"http://127.0.0.1:{fake_port}/health")).status_code == 200
            except httpx.HTTPError:
                return False

        async def providers_up() -> bool:
            assert providers.alive(), providers.output()
            return await check_health(f"127.0.0.1:{port}", identity=identity())

        await wait_until(fake_up, 30, "the fake process")
        await wait_until(providers_up, 30, "the providers process")
        async with aio_channel(f"127.0.0.1:{port}", "router") as channel:
            stub = providers_pb2_grpc.ProviderServiceStub(channel)
            reply = await stub.Generate(
                providers_pb2.GenerateRequest(deployment_id="openai-a", request=_ask()), timeout=10
            )
        assert reply.completion.choices[0].message.text == REPLY
        assert reply.upstream.http_status == 200
    finally:
        assert await asyncio.to_thread(providers.stop) == 0, providers.output()
        fake.stop()
    output = providers.output()
    assert "SY_TEST_ABSENT_KEY" in output and SECRET not in output
