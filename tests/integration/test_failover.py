"""Failover across the real mesh: retries per error class, fallback groups, Retry-After, the request
deadline, the streaming first-token deadline and the route record (x-switchyard-route, router span).

The built-in fake provider is scripted per upstream model; only its request log and the route record
are asserted on, never how long something took (a lower bound the router guarantees is the one exception).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import openai
import pytest

from switchyard.common.v1 import chat_pb2, context_pb2, route_pb2
from switchyard.router.v1 import router_pb2, router_pb2_grpc
from switchyard.runtime.errors import from_rpc_error
from tests.integration.test_tracing import Collector
from tests.support import Mesh, aio_channel, grpc_channel, wait_until_sync
from tests.unit.router.test_failover_policy import parse_route_header

pytestmark = pytest.mark.mesh

_KEY = 'api_base: "$FAKE_URL/v1", api_key: sk-fake'
# The groups whose window the config gives (model_info): the router's pre-check rules them out for a
# prompt too long for them, before any call. The others' windows are unknown: only the upstream can say.
WINDOWS = {
    "large": "max_input_tokens: 1024",
    "last-resort": "max_input_tokens: 1024",
    "narrow": "max_input_tokens: 64",
    "medium": "max_input_tokens: 256",
    "wide": "max_tokens: 1024",  # LiteLLM's window: prompt and completion together
}
EXTRA_MODELS = "".join(
    f"  - model_name: {group}\n    litellm_params: {{model: openai/fake-{group}, {_KEY}}}\n"
    + (f"    model_info: {{{WINDOWS[group]}}}\n" if group in WINDOWS else "")
    for group in ("small", "large", "strict", "lenient", "chain", "backup", "last-resort", "narrow", "medium", "wide")
) + "".join(
    f"  - model_name: twin\n    litellm_params: {{model: openai/fake-twin, {_KEY}, order: {n}, stream_timeout: 0.5}}\n"
    for n in (1, 2)
)
ROUTER_SETTINGS = """  fallbacks: [{chain: [backup]}, {narrow: [wide]}]
  context_window_fallbacks: [{small: [large]}, {narrow: [medium]}]
  content_policy_fallbacks: [{strict: [lenient]}]
  default_fallbacks: [last-resort]
"""


@pytest.fixture(scope="module")
def collector() -> Iterator[tuple[Collector, int]]:
    from concurrent import futures

    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

    servicer = Collector()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield servicer, port
    server.stop(0)


@pytest.fixture(scope="module")
def failover_mesh(tmp_path_factory: pytest.TempPathFactory, collector: tuple[Collector, int]) -> Iterator[Mesh]:
    """The mesh with fallback groups configured, exporting its spans to the test's collector."""
    mesh = Mesh(
        Path(tmp_path_factory.mktemp("failover")),
        env={"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{collector[1]}"},
        extra_models=EXTRA_MODELS,
        router_settings=ROUTER_SETTINGS,
    ).start()
    yield mesh
    mesh.stop()


@pytest.fixture
def fake(failover_mesh: Mesh) -> Iterator[httpx.Client]:
    with failover_mesh.fake_admin() as client:
        yield client


@pytest.fixture
def router(failover_mesh: Mesh) -> Iterator[router_pb2_grpc.RouterServiceStub]:
    with grpc_channel(failover_mesh.router_target) as channel:
        yield router_pb2_grpc.RouterServiceStub(channel)


@pytest.fixture
def client(failover_mesh: Mesh) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{failover_mesh.edge_url}/v1", api_key="sk-sy-test", max_retries=0)


def _script(fake: httpx.Client, model: str, **values: Any) -> None:
    assert fake.post("/_fake/scripts", json={"model": f"fake-{model}", **values}).status_code == 200


def _upstream_models(fake: httpx.Client) -> list[str]:
    return [str(r["body"].get("model")) for r in fake.get("/_fake/requests").json()]


# Prompts differ by a nonce only: the semantic cache would answer them as paraphrases of each other.
NO_CACHE = context_pb2.RequestContext(hints=context_pb2.RoutingHints(cache_bypass=True))


def _ask(router: router_pb2_grpc.RouterServiceStub, model: str) -> router_pb2.ChatCompletionResponse:
    message = chat_pb2.ChatMessage(role=chat_pb2.ROLE_USER, text=f"failover {uuid.uuid4().hex}")
    request = chat_pb2.ChatRequest(model=model, messages=[message])
    reply: router_pb2.ChatCompletionResponse = router.ChatCompletion(
        router_pb2.ChatCompletionRequest(request=request, context=NO_CACHE), timeout=20
    )
    return reply


def _calls(route: route_pb2.RouteRecord) -> list[tuple[str, str, str]]:
    """Returns (group, upstream model, outcome or error class) of every call the route record lists."""
    return [
        (a.group, a.model, a.error_class or route_pb2.AttemptOutcome.Name(a.outcome))
        for a in route.attempts
        if a.number > 0
    ]


def test_rate_limit_moves_to_another_deployment_at_once(
    router: router_pb2_grpc.RouterServiceStub, fake: httpx.Client
) -> None:
    _script(fake, "primary", status=429, retry_after="30")
    reply = _ask(router, "failover")
    assert _calls(reply.route) == [
        ("failover", "fake-primary", "RateLimitError"),
        ("failover", "fake-secondary", "ATTEMPT_OUTCOME_SUCCESS"),
    ]
    failed, answered = reply.route.attempts
    assert answered.backoff_ms == 0, "moving to another deployment does not wait for the Retry-After"
    assert failed.upstream_status == 429 and failed.latency_ms > 0 and answered.latency_ms > 0
    assert reply.route.deployment_id == answered.deployment_id
    assert _upstream_models(fake) == ["fake-primary", "fake-secondary"]


def test_bad_request_is_not_retried(router: router_pb2_grpc.RouterServiceStub, fake: httpx.Client) -> None:
    _script(fake, "solo", status=400)
    with pytest.raises(grpc.RpcError) as caught:
        _ask(router, "solo")
    err = from_rpc_error(caught.value)  # type: ignore[arg-type]
    assert err.status == 400
    assert err.route is not None and _calls(err.route) == [("solo", "fake-solo", "BadRequestError")]
    assert _upstream_models(fake) == ["fake-solo"], "neither retried nor sent to a fallback group"


def test_server_errors_are_retried_on_the_only_deployment(
    router: router_pb2_grpc.RouterServiceStub, fake: httpx.Client
) -> None:
    _script(fake, "solo", status=500, times=2)
    reply = _ask(router, "solo")
    assert [c[2] for c in _calls(reply.route)] == [
        "InternalServerError",
        "InternalServerError",
        "ATTEMPT_OUTCOME_SUCCESS",
    ]
    assert _upstream_models(fake) == ["fake-solo"] * 3
    assert reply.completion.choices[0].message.text


def test_context_window_error_goes_to_the_context_window_fallbacks(
    router: router_pb2_grpc.RouterServiceStub, fake: httpx.Client
) -> None:
    _script(fake, "small", status=400, error_code="context_length_exceeded")
    reply = _ask(router, "small")
    assert _calls(reply.route) == [
        ("small", "fake-small", "ContextWindowExceededError"),
        ("large", "fake-large", "ATTEMPT_OUTCOME_SUCCESS"),
    ]
    assert list(reply.route.groups_tried) == ["small", "large"]
    assert reply.route.group == "small" and "context window exceeded -> large" in reply.route.reason
    assert _upstream_models(fake) == ["fake-small", "fake-large"], "the small model is not retried"


def test_context_window_error_without_fallbacks_reaches_the_client(client: openai.OpenAI, fake: httpx.Client) -> None:
    _script(fake, "solo", status=400, error_code="context_length_exceeded")
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="solo", messages=[{"role": "user", "content": "a very long prompt"}])
    assert caught.value.code == "context_length_exceeded"
    assert _upstream_models(fake) == ["fake-solo"], "default_fallbacks are not a cure for a too-long prompt"


def _long_prompt(client: openai.OpenAI, model: str, tokens: int, **extra: Any) -> Any:
    """Sends a prompt of about `tokens` tokens (one per repeated word) and returns the raw response."""
    prompt = f"{uuid.uuid4().hex} " + "apple " * tokens
    return client.chat.completions.with_raw_response.create(
        model=model,
        messages=[{"role": "user", "content": prompt}],
        extra_headers={"cache-control": "no-cache"},
        **extra,
    )


def test_a_prompt_too_long_for_a_group_goes_to_its_context_window_fallbacks(
    client: openai.OpenAI, fake: httpx.Client
) -> None:
    raw = _long_prompt(client, "narrow", 150)
    assert raw.status_code == 200
    assert raw.parse().choices[0].message.content
    route = parse_route_header(raw.headers["x-switchyard-route"])
    assert (route["group"], route["served"], route["groups"]) == ("narrow", "medium", "narrow,medium")
    assert route["attempts"] == "1" and route["skipped"].endswith(":context_window_exceeded")
    assert "narrow window too small -> medium" in route["reason"]
    assert _upstream_models(fake) == ["fake-medium"], "narrow's window was checked, not asked"


def test_general_fallbacks_follow_when_the_context_window_fallback_is_too_small_too(
    client: openai.OpenAI, fake: httpx.Client
) -> None:
    raw = _long_prompt(client, "narrow", 600)
    route = parse_route_header(raw.headers["x-switchyard-route"])
    assert raw.status_code == 200
    assert (route["served"], route["groups"]) == ("wide", "narrow,medium,wide"), "then narrow's fallbacks"
    assert _upstream_models(fake) == ["fake-wide"]

    fake.delete("/_fake/requests")
    # 600 prompt + 600 completion tokens do not fit wide's 1024-token window either.
    raw = _long_prompt(client, "narrow", 600, max_tokens=600)
    route = parse_route_header(raw.headers["x-switchyard-route"])
    assert raw.status_code == 200
    assert (route["served"], route["groups"]) == ("last-resort", "narrow,medium,wide,last-resort")
    assert route["attempts"] == "1", "then default_fallbacks, each group checked before any call"
    assert _upstream_models(fake) == ["fake-last-resort"]


def test_a_prompt_too_long_for_every_group_is_a_400_not_a_call(client: openai.OpenAI, fake: httpx.Client) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        _long_prompt(client, "narrow", 2000)
    assert caught.value.status_code == 400 and caught.value.code == "context_length_exceeded"
    assert "does not fit the context window of any deployment" in caught.value.message
    route = parse_route_header(caught.value.response.headers["x-switchyard-route"])
    assert (route["attempts"], route["groups"]) == ("0", "narrow,medium,wide,last-resort")
    assert _upstream_models(fake) == []


def test_an_upstream_refusal_then_fallbacks_too_small_is_a_400_not_a_502(
    client: openai.OpenAI, fake: httpx.Client
) -> None:
    _script(fake, "small", status=400, error_code="context_length_exceeded")
    with pytest.raises(openai.BadRequestError) as caught:
        _long_prompt(client, "small", 2000)
    assert caught.value.code == "context_length_exceeded"
    route = parse_route_header(caught.value.response.headers["x-switchyard-route"])
    assert (route["attempts"], route["groups"]) == ("1", "small,large")
    assert route["failed"].endswith(":context_window_exceeded") and route["skipped"].startswith("large-")
    assert _upstream_models(fake) == ["fake-small"], "large's 1024-token window was checked, not asked"


def test_an_upstream_refusal_keeps_to_the_context_window_fallbacks(client: openai.OpenAI, fake: httpx.Client) -> None:
    """medium's window is checked and fits, but medium says no: that is no cue for narrow's general
    fallbacks (wide) or default_fallbacks, which were chosen for outages, not for longer prompts."""
    _script(fake, "medium", status=400, error_code="context_length_exceeded")
    with pytest.raises(openai.BadRequestError) as caught:
        _long_prompt(client, "narrow", 150)
    assert caught.value.code == "context_length_exceeded"
    route = parse_route_header(caught.value.response.headers["x-switchyard-route"])
    assert route["groups"] == "narrow,medium"
    assert _upstream_models(fake) == ["fake-medium"]


def test_content_policy_refusal_goes_to_the_content_policy_fallbacks(
    router: router_pb2_grpc.RouterServiceStub, fake: httpx.Client
) -> None:
    _script(fake, "strict", status=400, error_code="content_filter")
    reply = _ask(router, "strict")
    assert _calls(reply.route) == [
        ("strict", "fake-strict", "ContentPolicyViolationError"),
        ("lenient", "fake-lenient", "ATTEMPT_OUTCOME_SUCCESS"),
    ]
    assert _upstream_models(fake) == ["fake-strict", "fake-lenient"]


def test_fallbacks_after_the_group_is_exhausted_then_default_fallbacks(
    router: router_pb2_grpc.RouterServiceStub, fake: httpx.Client
) -> None:
    _script(fake, "chain", status=503)
    reply = _ask(router, "chain")
    assert list(reply.route.groups_tried) == ["chain", "backup"]
    assert [c[1] for c in _calls(reply.route)] == ["fake-chain"] * 3 + ["fake-backup"], "1 + num_retries attempts"

    fake.delete("/_fake/requests")
    _script(fake, "backup", status=503)
    reply = _ask(router, "chain")
    assert list(reply.route.groups_tried) == ["chain", "backup", "last-resort"]
    assert _upstream_models(fake) == ["fake-chain"] * 3 + ["fake-backup"] * 3 + ["fake-last-resort"]
    assert reply.route.deployment_id.startswith("last-resort-")


def test_retry_after_is_honoured_before_retrying_the_same_deployment(
    router: router_pb2_grpc.RouterServiceStub, fake: httpx.Client
) -> None:
    _script(fake, "solo", status=429, retry_after="1", times=1)
    started = time.monotonic()
    reply = _ask(router, "solo")
    elapsed = time.monotonic() - started
    assert [c[2] for c in _calls(reply.route)] == ["RateLimitError", "ATTEMPT_OUTCOME_SUCCESS"]
    assert reply.route.attempts[1].backoff_ms >= 1000
    assert elapsed >= 1.0, "the retry cannot have happened before the upstream's Retry-After"
    assert _upstream_models(fake) == ["fake-solo", "fake-solo"]


def test_a_request_never_outlives_its_deadline(router: router_pb2_grpc.RouterServiceStub, fake: httpx.Client) -> None:
    """Each try takes 2.5 s against a 4 s request timeout: the second is cut at the deadline, not awaited.

    The second try is solo's retry, or default_fallbacks' last-resort when the retry's backoff would not
    fit: both are slow, so either way it is cut.
    """
    _script(fake, "solo", status=503, latency_ms=2500)
    _script(fake, "last-resort", status=503, latency_ms=2500)
    with pytest.raises(grpc.RpcError) as caught:
        _ask(router, "solo")
    assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED  # type: ignore[attr-defined]

    def second_call_cut() -> bool:
        log = fake.get("/_fake/requests").json()
        return len(log) == 2 and log[0]["status"] == 503 and bool(log[1]["disconnected"])

    wait_until_sync(second_call_cut, 10.0, "the second upstream call to be cancelled at the deadline")


def _stream(client: openai.OpenAI, model: str, prompt: str) -> tuple[httpx.Headers, list[dict[str, Any]]]:
    raw = client.chat.completions.with_raw_response.create(
        model=model,
        messages=[{"role": "user", "content": prompt}],
        stream=True,
        stream_options={"include_usage": True},
        extra_headers={"cache-control": "no-cache"},
    )
    chunks = [c.model_dump(exclude={"id", "created"}) for c in raw.parse()]
    return raw.headers, chunks


def _comparable(headers: httpx.Headers) -> dict[str, str]:
    return {k: v for k, v in headers.items() if not k.startswith("x-switchyard-") and k not in ("x-request-id", "date")}


@pytest.mark.parametrize(
    "stall",
    [{"ttft_ms": 30000}, {"chunk_delay_ms": 30000}],
    ids=["nothing-sent", "role-chunk-then-nothing"],
)
def test_a_stream_stalled_before_its_first_token_fails_over_unseen(
    client: openai.OpenAI, fake: httpx.Client, stall: dict[str, int]
) -> None:
    prompt = f"stream through a stall {uuid.uuid4().hex}"
    healthy_headers, healthy = _stream(client, "twin", prompt)
    fake.delete("/_fake/requests")
    _script(fake, "twin", times=1, **stall)
    headers, chunks = _stream(client, "twin", prompt)
    assert chunks == healthy, "the client sees the same chunks, role chunk once, and a normal end"
    assert _comparable(headers) == _comparable(healthy_headers)
    route = parse_route_header(headers["x-switchyard-route"])
    assert route["attempts"] == "2" and ":upstream_timeout" in route["failed"]

    def stalled_call_cancelled() -> bool:
        log = fake.get("/_fake/requests").json()
        return len(log) == 2 and bool(log[0]["disconnected"]) and bool(log[1]["completed"])

    wait_until_sync(stalled_call_cancelled, 10.0, "the stalled upstream request to be closed")


def test_route_header_explains_a_failover(client: openai.OpenAI, fake: httpx.Client) -> None:
    _script(fake, "primary", status=503)
    raw = client.chat.completions.with_raw_response.create(
        model="failover",
        messages=[{"role": "user", "content": f"explain {uuid.uuid4().hex}"}],
        extra_headers={"cache-control": "no-cache"},
    )
    route = parse_route_header(raw.headers["x-switchyard-route"])
    assert route["group"] == route["served"] == "failover"
    assert route["strategy"] == "simple-shuffle"
    assert route["deployment"] == raw.headers["x-switchyard-deployment"]
    assert route["attempts"] == "2" and route["failed"].endswith(":upstream_unavailable")
    assert "weighted shuffle" in route["reason"]


def test_route_header_comes_with_errors_too(client: openai.OpenAI, fake: httpx.Client) -> None:
    _script(fake, "solo", status=400)
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="solo", messages=[{"role": "user", "content": "bad"}])
    route = parse_route_header(caught.value.response.headers["x-switchyard-route"])
    assert route["attempts"] == "1" and route["deployment"] == "-" and route["failed"].endswith(":upstream_bad_request")


def test_the_router_span_carries_the_route(
    failover_mesh: Mesh, collector: tuple[Collector, int], fake: httpx.Client
) -> None:
    received, _ = collector
    _script(fake, "primary", status=429)
    request_id = f"span-{uuid.uuid4().hex}"
    reply = httpx.post(
        f"{failover_mesh.edge_url}/v1/chat/completions",
        headers={"x-request-id": request_id, "cache-control": "no-cache"},
        json={"model": "failover", "messages": [{"role": "user", "content": request_id}]},
        timeout=10,
    )
    assert reply.status_code == 200, reply.text

    def router_span() -> dict[str, Any] | None:
        return next(
            (
                s
                for s in received.spans
                if s["service"] == "switchyard-router"
                and s["name"].endswith("RouterService/ChatCompletion")
                and s["attributes"].get("switchyard.route.deployment")
                and s["attributes"]["switchyard.route.deployment"].string_value
                == reply.headers["x-switchyard-deployment"]
                and s["attributes"]["switchyard.route.attempts"].int_value == 2
            ),
            None,
        )

    wait_until_sync(lambda: router_span() is not None, 20.0, "the router's span with the route")
    span = router_span()
    assert span is not None
    attributes = span["attributes"]
    assert attributes["switchyard.route.group"].string_value == "failover"
    failed = [v.string_value for v in attributes["switchyard.route.failed"].array_value.values]
    assert len(failed) == 1 and failed[0].endswith(":upstream_rate_limited")


async def test_stream_cut_after_the_first_token_ends_with_an_error(failover_mesh: Mesh, fake: httpx.Client) -> None:
    _script(fake, "twin", cut_after=3)
    message = chat_pb2.ChatMessage(role=chat_pb2.ROLE_USER, text=f"cut {uuid.uuid4().hex}")
    request = router_pb2.StreamChatCompletionRequest(
        request=chat_pb2.ChatRequest(model="twin", messages=[message], stream=True)
    )
    received: list[chat_pb2.ChatCompletionChunk] = []
    async with aio_channel(failover_mesh.router_target) as channel:
        stub = router_pb2_grpc.RouterServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            async for reply in stub.StreamChatCompletion(request, timeout=20):
                received.extend(reply.chunks)
    assert caught.value.code() == grpc.StatusCode.ABORTED
    assert any(c.choices and c.choices[0].delta.content for c in received), "tokens were sent before the break"
    assert _upstream_models(fake) == ["fake-twin"], "a stream that started is never replayed elsewhere"
