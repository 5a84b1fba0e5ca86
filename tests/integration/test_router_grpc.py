"""The gRPC front door: internal services call switchyard.router.v1 with the generated stubs."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import grpc
import httpx
import pytest
from google.rpc import error_details_pb2, status_pb2

from switchyard.common.v1 import chat_pb2, context_pb2, route_pb2
from switchyard.router.v1 import router_pb2, router_pb2_grpc
from tests.support import Mesh, aio_channel

pytestmark = pytest.mark.mesh


@pytest.fixture
async def stub(mesh: Mesh) -> AsyncIterator[router_pb2_grpc.RouterServiceStub]:
    async with aio_channel(mesh.router_target) as channel:
        yield router_pb2_grpc.RouterServiceStub(channel)


# Prompts differ by a nonce only: the semantic cache would answer them as paraphrases of each other.
NO_CACHE = context_pb2.RequestContext(hints=context_pb2.RoutingHints(cache_bypass=True))


def _request(model: str, **fields: object) -> chat_pb2.ChatRequest:
    message = chat_pb2.ChatMessage(role=chat_pb2.ROLE_USER, text=f"grpc hello {uuid.uuid4().hex}")
    return chat_pb2.ChatRequest(model=model, messages=[message], **fields)  # type: ignore[arg-type]


def _details(error: grpc.aio.AioRpcError) -> tuple[error_details_pb2.ErrorInfo, list[object]]:
    raw = dict(error.trailing_metadata() or ())["grpc-status-details-bin"]
    status = status_pb2.Status.FromString(raw)
    info = error_details_pb2.ErrorInfo()
    others: list[object] = []
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            detail.Unpack(info)
        elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            retry = error_details_pb2.RetryInfo()
            detail.Unpack(retry)
            others.append(retry)
        elif detail.Is(route_pb2.RouteRecord.DESCRIPTOR):
            route = route_pb2.RouteRecord()
            detail.Unpack(route)
            others.append(route)
    return info, others


async def test_unary_completion_carries_its_route(stub: router_pb2_grpc.RouterServiceStub) -> None:
    context = context_pb2.RequestContext(request_id="grpc-req-1", team="search")
    reply = await stub.ChatCompletion(router_pb2.ChatCompletionRequest(request=_request("default"), context=context))
    assert reply.completion.choices[0].message.text
    assert reply.completion.choices[0].finish_reason == chat_pb2.FINISH_REASON_STOP
    assert reply.completion.usage.total_tokens > 0
    assert reply.route.group == "default"
    assert reply.route.deployment_id.startswith("default-")
    assert [a.outcome for a in reply.route.attempts] == [route_pb2.ATTEMPT_OUTCOME_SUCCESS]
    assert reply.route.cache == route_pb2.CACHE_RESULT_MISS


async def test_streaming_ends_with_usage_and_route(stub: router_pb2_grpc.RouterServiceStub) -> None:
    request = _request("default", stream=True, stream_options=chat_pb2.StreamOptions(include_usage=True))
    messages = [m async for m in stub.StreamChatCompletion(router_pb2.StreamChatCompletionRequest(request=request))]
    chunks = [c for m in messages for c in m.chunks]
    assert messages[0].route.deployment_id, "the first message names the deployment answering"
    assert "".join(c.choices[0].delta.content for c in chunks if c.choices)
    assert chunks[-1].HasField("usage") and not chunks[-1].choices
    assert messages[-1].route.deployment_id and not messages[-1].chunks
    assert messages[-1].route.cost_usd >= 0


async def test_unknown_model_is_not_found_with_error_info(stub: router_pb2_grpc.RouterServiceStub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.ChatCompletion(router_pb2.ChatCompletionRequest(request=_request("nope")))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    info, _ = _details(caught.value)
    assert (info.domain, info.reason) == ("switchyard", "MODEL_NOT_FOUND")


async def test_invalid_request_is_invalid_argument(stub: router_pb2_grpc.RouterServiceStub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.ChatCompletion(router_pb2.ChatCompletionRequest(request=chat_pb2.ChatRequest(model="default")))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    info, _ = _details(caught.value)
    assert info.reason == "INVALID_REQUEST" and info.metadata["param"] == "messages"


async def test_rate_limits_carry_retry_info_and_attempts(
    stub: router_pb2_grpc.RouterServiceStub, fake_admin: httpx.Client
) -> None:
    fake_admin.post("/_fake/scripts", json={"model": "fake-solo", "status": 429, "retry_after": "3"})
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.ChatCompletion(router_pb2.ChatCompletionRequest(request=_request("solo"), context=NO_CACHE))
    info, others = _details(caught.value)
    assert info.reason == "ALL_CANDIDATES_FAILED" and info.metadata["http_status"] == "429"
    retry = next(o for o in others if isinstance(o, error_details_pb2.RetryInfo))
    assert retry.retry_delay.seconds == 3
    route = next(o for o in others if isinstance(o, route_pb2.RouteRecord))
    # The only deployment is retried once Retry-After has passed; a third try would outlive the 4 s deadline.
    assert len(route.attempts) == 2 and all(a.upstream_status == 429 for a in route.attempts)
    assert route.attempts[1].backoff_ms >= 3000
    assert [a.error_class for a in route.attempts] == ["RateLimitError", "RateLimitError"]


async def test_list_models(stub: router_pb2_grpc.RouterServiceStub) -> None:
    reply = await stub.ListModels(router_pb2.ListModelsRequest())
    assert {"default", "failover", "solo", "keyless"} <= {m.id for m in reply.models}


async def test_stream_broken_after_tokens_ends_with_stream_interrupted(
    stub: router_pb2_grpc.RouterServiceStub, fake_admin: httpx.Client
) -> None:
    fake_admin.post("/_fake/scripts", json={"model": "fake-solo", "cut_after": 2})
    request = router_pb2.StreamChatCompletionRequest(request=_request("solo", stream=True), context=NO_CACHE)
    received = []
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async for message in stub.StreamChatCompletion(request):
            received.extend(message.chunks)
    assert received, "the chunks sent before the break were delivered"
    assert caught.value.code() == grpc.StatusCode.ABORTED
    info, others = _details(caught.value)
    assert info.reason == "STREAM_INTERRUPTED"
    route = next(o for o in others if isinstance(o, route_pb2.RouteRecord))
    assert route.deployment_id.startswith("solo-")
