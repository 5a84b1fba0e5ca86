"""The routing engine end to end: strategies, rules, A/B arms, residency, circuits, shadow traffic, aliases,
rate limits shared by two router processes through one Redis, active health checks, and a Redis outage.

Everything runs as real processes (`switchyard up`, a second `python -m switchyard.services.router`), a real Redis
and the built-in fake provider; outcomes are read from the fake's request log, the route record
(x-switchyard-route, RouteRecord) and health endpoints, never from how long something took.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from switchyard.common.v1 import chat_pb2, context_pb2, route_pb2
from switchyard.router.v1 import router_pb2, router_pb2_grpc
from switchyard.runtime.errors import from_rpc_error, reason_name
from switchyard.services.router.state import RedisState
from tests.e2e.test_auto_alias import HARD
from tests.redis_support import RedisServer, throwaway_redis, unique_prefix
from tests.support import Mesh, Process, aio_channel, free_port, wait_until, wait_until_sync
from tests.unit.router.test_failover_policy import parse_route_header

pytestmark = pytest.mark.mesh

_KEY = 'api_base: "$FAKE_URL/v1", api_key: sk-fake'
SHARED_STATE = "switchyard.router.v1.SharedState"
CODE = (
    "Write a Python function that parses a CSV file and returns the rows as dictionaries.\n"
    "```python\ndef parse(path):\n    pass\n```"
)


def _model(group: str, model: str, params: str = "", info: str = "") -> str:
    """Returns one model_list entry on the mesh's fake, with more litellm_params and model_info."""
    extra = f", {params}" if params else ""
    entry = f"  - model_name: {group}\n    litellm_params: {{model: openai/{model}, {_KEY}{extra}}}\n"
    return entry + (f"    model_info: {{{info}}}\n" if info else "")


# ---------------------------------------------------------------------------------------- the in-memory mesh

ENGINE_MODELS = "".join(
    [
        _model("lat", "fake-lat-fast"),
        _model("lat", "fake-lat-slow"),
        _model("busy", "fake-busy-a"),
        _model("busy", "fake-busy-b"),
        _model("priced", "fake-pricey", info="input_cost_per_token: 1.0e-5, output_cost_per_token: 3.0e-5"),
        _model("priced", "fake-thrifty", info="input_cost_per_token: 1.0e-7, output_cost_per_token: 1.0e-7"),
        _model("usage", "fake-usage-near", "rpm: 10", "id: usage-near"),
        _model("usage", "fake-usage-free", "rpm: 10", "id: usage-free"),
        _model("ruled", "fake-ruled"),
        _model("coder", "fake-coder"),
        _model("arm-a", "fake-arm-a"),
        _model("arm-b", "fake-arm-b"),
        _model("eu-chat", "fake-eu", "region_name: eu-west-1"),
        _model("eu-chat", "fake-us", "region_name: us-east-1"),
        _model("us-backup", "fake-us-backup", "region_name: us-west-2"),
        _model("circuit", "fake-circuit"),
        _model("shadowed", "fake-shadowed-primary"),
        _model("shadow-target", "fake-shadow-target"),
        _model("pool-small", "fake-pool-small", info="input_cost_per_token: 1.0e-7, quality: 0.1"),
        _model("pool-big", "fake-pool-big", info="input_cost_per_token: 1.0e-5, quality: 0.95"),
    ]
)
ENGINE_ALIASES = """    cheap: {policy: cheap, groups: [pool-small, pool-big]}
    fast: {policy: fast, groups: [pool-small, pool-big]}
    auto: {policy: auto, groups: [pool-small, pool-big], quality_floor: 0.8}
    fill: {policy: cheap, deployments: [usage-near]}
"""
ENGINE_SWITCHYARD = """  cache_enabled: false
  routing: {exploration_rate: 0.0}
  groups:
    lat: {routing_strategy: latency-based-routing}
    busy: {routing_strategy: least-busy}
    priced: {routing_strategy: cost-based-routing}
    usage: {routing_strategy: usage-based-routing}
  rules:
    - {name: code-to-coder, match: {category: code, min_category_confidence: 0.3}, models: [ruled], route_to: coder}
  experiments:
    ab: {model: abtest, sticky: session, arms: [{name: a, group: arm-a}, {name: b, group: arm-b}]}
    shadowing: {model: shadowed, shadow: {group: shadow-target, share: 1.0}}
"""
COOLDOWN_S = 5.0


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    """The mesh with every strategy, a rule, an A/B and a shadow experiment, residency and tight circuits."""
    mesh = Mesh(
        Path(tmp_path_factory.mktemp("engine")),
        env={"SWITCHYARD_ROUTER_HEALTH_INTERVAL": "0"},
        request_timeout=30.0,
        extra_models=ENGINE_MODELS,
        router_settings="  fallbacks: [{eu-chat: [us-backup]}]\n",
        aliases=ENGINE_ALIASES,
        switchyard_extra=ENGINE_SWITCHYARD,
        allowed_fails=1,
        cooldown_time=COOLDOWN_S,
    ).start()
    yield mesh
    mesh.stop()


@pytest.fixture
def fake(engine: Mesh) -> Iterator[httpx.Client]:
    with engine.fake_admin(timeout=10.0) as client:
        yield client


@pytest.fixture
def edge(engine: Mesh) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=engine.edge_url, timeout=60.0) as client:
        yield client


def _script(fake: httpx.Client, model: str, **values: Any) -> None:
    assert fake.post("/_fake/scripts", json={"model": model, **values}).status_code == 200


def _upstream(fake: httpx.Client) -> Counter[str]:
    """Returns how many chat requests the fake received per upstream model."""
    return Counter(str(r["body"].get("model")) for r in fake.get("/_fake/requests").json())


def _chat(
    edge: httpx.Client, model: str, text: str | None = None, headers: dict[str, str] | None = None, **body: Any
) -> httpx.Response:
    content = text or f"route me {uuid.uuid4().hex}"
    payload = {"model": model, "messages": [{"role": "user", "content": content}], **body}
    return edge.post("/v1/chat/completions", json=payload, headers=headers or {})


def _route(reply: httpx.Response) -> dict[str, str]:
    return parse_route_header(reply.headers["x-switchyard-route"])


def _served(edge: httpx.Client, model: str, text: str | None = None, **headers: str) -> tuple[str, dict[str, str]]:
    """Returns the upstream model that answered and the route header; fails on an error."""
    reply = _chat(edge, model, text, headers)
    assert reply.status_code == 200, reply.text
    return str(reply.json()["model"]), _route(reply)


def test_latency_based_routing_prefers_the_fast_deployment_after_warm_up(
    edge: httpx.Client, fake: httpx.Client
) -> None:
    _script(fake, "fake-lat-slow", latency_ms=300)

    def both_measured() -> bool:
        return "lowest latency" in _served(edge, "lat")[1]["reason"]

    wait_until_sync(both_measured, 60.0, "both lat deployments to be measured")
    served = [_served(edge, "lat") for _ in range(5)]
    assert {model for model, _ in served} == {"fake-lat-fast"}
    route = served[-1][1]
    assert route["strategy"] == "latency-based-routing"
    assert "lowest latency: lat-" in route["reason"] and route["deployment"] in route["reason"]


def test_least_busy_avoids_the_deployment_with_requests_in_flight(edge: httpx.Client, fake: httpx.Client) -> None:
    _script(fake, "fake-busy-a", latency_ms=8000)

    def busy_a_in_flight() -> bool:
        return any(
            r["body"].get("model") == "fake-busy-a" and not r["completed"] for r in fake.get("/_fake/requests").json()
        )

    def landed(call: concurrent.futures.Future[httpx.Response]) -> Callable[[], bool]:
        return lambda: call.done() or busy_a_in_flight()

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        # Ties go either way at random: send requests until one is held by busy-a.
        while not busy_a_in_flight():
            wait_until_sync(landed(pool.submit(_chat, edge, "busy")), 30.0, "a busy request to land")
        served = [_served(edge, "busy") for _ in range(5)]
    assert {model for model, _ in served} == {"fake-busy-b"}
    route = served[0][1]
    assert route["strategy"] == "least-busy" and "(0 in flight)" in route["reason"]


def test_cost_based_routing_picks_the_cheapest(edge: httpx.Client, fake: httpx.Client) -> None:
    served = [_served(edge, "priced") for _ in range(5)]
    assert {model for model, _ in served} == {"fake-thrifty"}
    assert served[0][1]["strategy"] == "cost-based-routing" and "cheapest: priced-" in served[0][1]["reason"]
    assert _upstream(fake) == Counter({"fake-thrifty": 5})


def test_usage_based_routing_avoids_the_deployment_near_its_rpm(edge: httpx.Client, fake: httpx.Client) -> None:
    # The `fill` alias reaches usage-near alone: 8 of its 10 requests a minute are used up.
    assert {_served(edge, "fill")[0] for _ in range(8)} == {"fake-usage-near"}
    served = [_served(edge, "usage") for _ in range(5)]
    assert {model for model, _ in served} == {"fake-usage-free"}
    route = served[0][1]
    assert route["strategy"] == "usage-based-routing" and "most headroom: usage-free" in route["reason"]
    assert "deprioritised at >= 80% of rpm/tpm" in route["reason"]


def test_a_content_rule_routes_code_to_the_code_group(edge: httpx.Client, fake: httpx.Client) -> None:
    model, route = _served(edge, "ruled", f"{CODE}\n# {uuid.uuid4().hex}")
    assert model == "fake-coder"
    assert route["group"] == "coder" and route["rule"] == "code-to-coder"
    assert "rule code-to-coder (code) -> coder" in route["reason"]
    model, route = _served(edge, "ruled", "What is the capital of France?")
    assert model == "fake-ruled" and "rule" not in route


def test_ab_arms_are_sticky_per_session_and_per_user(edge: httpx.Client) -> None:
    arms: dict[str, set[str]] = {}
    for session in (f"session-{n}" for n in range(12)):
        for _ in range(3):
            model, route = _served(edge, "abtest", **{"x-switchyard-session": session})
            assert route["experiment"] == "ab"
            assert model == f"fake-arm-{route['arm']}", "the arm's group answers"
            arms.setdefault(session, set()).add(route["arm"])
    assert all(len(seen) == 1 for seen in arms.values()), f"a session changed arms: {arms}"
    assert set.union(*arms.values()) == {"a", "b"}, "sessions are split over both arms"
    by_user = set()
    for _ in range(3):
        reply = _chat(edge, "abtest", user="alice")
        assert reply.status_code == 200
        by_user.add(_route(reply)["arm"])
    assert len(by_user) == 1, "without a session key the user keeps one arm"


def test_an_eu_request_never_reaches_a_us_deployment_and_fails_closed(edge: httpx.Client, fake: httpx.Client) -> None:
    eu = {"x-switchyard-region": "eu"}
    served = [_served(edge, "eu-chat", **eu) for _ in range(4)]
    assert {model for model, _ in served} == {"fake-eu"}
    assert ":no_allowed_deployment" in served[0][1]["skipped"]

    _script(fake, "fake-eu", status=503)
    failed = _chat(edge, "eu-chat", headers=eu)
    assert failed.status_code == 503, failed.text
    assert "us-backup" in _route(failed)["groups"], "the fallback group is planned, and filtered the same way"

    def fails_closed() -> bool:
        reply = _chat(edge, "eu-chat", headers=eu)
        return reply.status_code == 403

    wait_until_sync(fails_closed, 30.0, "an EU request with no healthy EU deployment to be refused")
    refused = _chat(edge, "eu-chat", headers=eu)
    assert refused.status_code == 403
    error = refused.json()["error"]
    assert (error["type"], error["code"]) == ("permission_error", "no_allowed_deployment")
    assert "must stay in eu" in error["message"]
    upstream = _upstream(fake)
    assert upstream["fake-us"] == upstream["fake-us-backup"] == 0 and upstream["fake-eu"] > 0

    anywhere = _chat(edge, "eu-chat")
    assert anywhere.status_code == 200 and anywhere.json()["model"] in {"fake-us", "fake-us-backup"}
    unknown = _chat(edge, "eu-chat", headers={"x-switchyard-data-classification": "secret"})
    assert unknown.status_code == 400 and unknown.json()["error"]["param"] == "x-switchyard-data-classification"


def test_a_circuit_opens_after_allowed_fails_then_lets_one_probe_through(
    edge: httpx.Client, fake: httpx.Client
) -> None:
    _script(fake, "fake-circuit", status=503)
    first = _chat(edge, "circuit")
    assert first.status_code == 503
    route = _route(first)
    assert route["attempts"] == "2", "allowed_fails (1) + 1 failures, then the circuit is open"
    assert route["skipped"].endswith(":deployment_unavailable")
    body = first.json()["error"]
    skipped = [a for a in body["attempts"] if a["outcome"] == "skipped"]
    assert skipped and "circuit open" in skipped[0]["message"]

    cooling = _chat(edge, "circuit")
    assert cooling.status_code == 503 and "circuit open" in cooling.json()["error"]["message"]
    assert _upstream(fake)["fake-circuit"] == 2, "an open circuit is not called"

    fake.delete("/_fake/scripts")
    wait_until_sync(lambda: _chat(edge, "circuit").status_code == 200, 30.0, "the cooled-down deployment to answer")
    assert _upstream(fake)["fake-circuit"] == 3, "after the cooldown, one probe; it succeeded and closed the circuit"
    assert _chat(edge, "circuit").status_code == 200
    assert _upstream(fake)["fake-circuit"] == 4


def test_shadow_traffic_reaches_the_candidate_but_never_the_client(
    engine: Mesh, edge: httpx.Client, fake: httpx.Client
) -> None:
    request_id = f"shadow-{uuid.uuid4().hex}"
    text = f"shadow me {request_id}"
    reply = _chat(edge, "shadowed", text, {"x-request-id": request_id})
    assert reply.status_code == 200
    assert reply.json()["model"] == "fake-shadowed-primary"
    assert reply.headers["x-switchyard-deployment"].startswith("shadowed-")
    route = _route(reply)
    assert route["shadow"] == "shadow-target" and route["experiment"] == "shadowing"

    def shadow_received() -> bool:
        log = fake.get("/_fake/requests").json()
        return any(r["body"].get("model") == "fake-shadow-target" and r["completed"] for r in log)

    wait_until_sync(shadow_received, 20.0, "the shadow copy to reach its deployment")
    copy = next(r for r in fake.get("/_fake/requests").json() if r["body"].get("model") == "fake-shadow-target")
    assert copy["body"]["messages"][0]["content"] == text
    wait_until_sync(
        lambda: f"shadow copy of request {request_id} to shadow-target" in engine.output(),
        20.0,
        "the shadow outcome in the router's log",
    )
    line = next(x for x in engine.output().splitlines() if f"shadow copy of request {request_id}" in x)
    assert "deployment shadow-target-" in line and ", ok, " in line and "tokens" in line


@pytest.mark.parametrize(
    ("alias", "strategy", "why"),
    [
        ("cheap", "cost-based-routing", "cheapest: pool-small-"),
        ("fast", "latency-based-routing", "fast: policy fast over 2 deployment(s)"),
        ("auto", "cost-quality", "auto: policy auto over 2 deployment(s)"),
    ],
)
def test_pool_aliases_answer_and_say_why(edge: httpx.Client, alias: str, strategy: str, why: str) -> None:
    model, route = _served(edge, alias, "Hi! How are you today?")
    assert route["group"] == alias and route["strategy"] == strategy
    assert why in route["reason"] and f"alias {alias}: policy {alias}" in route["reason"]
    assert model in {"fake-pool-small", "fake-pool-big"}


def test_the_auto_pool_alias_sends_hard_requests_to_the_stronger_model(edge: httpx.Client) -> None:
    easy, _ = _served(edge, "auto", "Hi! How are you today?")
    hard, route = _served(edge, "auto", HARD)
    assert (easy, hard) == ("fake-pool-small", "fake-pool-big"), route["reason"]


# ---------------------------------------------------------------------------------------- Redis-backed meshes


def _ask(model: str) -> router_pb2.ChatCompletionRequest:
    message = chat_pb2.ChatMessage(role=chat_pb2.ROLE_USER, text=f"shared {uuid.uuid4().hex}")
    request = chat_pb2.ChatRequest(model=model, messages=[message])
    return router_pb2.ChatCompletionRequest(request=request, context=context_pb2.RequestContext())


async def _outcomes(
    targets: list[str], model: str, count: int
) -> list[router_pb2.ChatCompletionResponse | grpc.aio.AioRpcError]:
    """Sends count requests at once, spread over the router targets; returns each reply or error."""
    channels = [aio_channel(target) for target in targets]
    try:
        stubs = [router_pb2_grpc.RouterServiceStub(channel) for channel in channels]

        async def one(n: int) -> router_pb2.ChatCompletionResponse | grpc.aio.AioRpcError:
            try:
                reply: router_pb2.ChatCompletionResponse = await stubs[n % len(stubs)].ChatCompletion(
                    _ask(model), timeout=60
                )
                return reply
            except grpc.aio.AioRpcError as error:
                return error

        return await asyncio.gather(*(one(n) for n in range(count)))
    finally:
        for channel in channels:
            await channel.close()


async def _shared_state_status(target: str) -> int:
    async with aio_channel(target) as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=SHARED_STATE), timeout=5
        )
        return int(reply.status)


RPM = 20
DEAD_PORT = free_port()
SHARED_MODELS = "".join(
    [
        _model("metered", "fake-metered-limited", f"rpm: {RPM}, order: 1"),
        _model("metered", "fake-metered-spare", "order: 2"),
        _model("metered-solo", "fake-metered-solo", f"rpm: {RPM}"),
        _model("probed", "fake-probed-live", "order: 1"),
        f"  - model_name: probed\n    litellm_params: {{model: openai/fake-probed-dead, "
        f'api_base: "http://127.0.0.1:{DEAD_PORT}/v1", api_key: sk-fake, order: 2}}\n'
        "    model_info: {id: probed-dead}\n",
    ]
)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[tuple[Mesh, Process, str, str]]:
    """The mesh and a second router process, sharing one Redis under a key prefix of their own."""
    prefix = unique_prefix("routing-engine")
    env = {
        "SWITCHYARD_ROUTER_STATE_PREFIX": prefix,
        # A loaded test machine must not push Redis calls past their bound: that would split the state.
        "SWITCHYARD_ROUTER_STATE_TIMEOUT": "2",
        "SWITCHYARD_ROUTER_HEALTH_INTERVAL": "0.3",
    }
    mesh = Mesh(
        Path(tmp_path_factory.mktemp("shared")),
        env=env,
        request_timeout=30.0,
        extra_models=SHARED_MODELS,
        switchyard_extra=f"  cache_enabled: false\n  redis_url: {redis_url}\n",
        allowed_fails=1,
    ).start()
    try:
        second, target = mesh.start_router()
        try:
            yield mesh, second, target, prefix
        finally:
            second.stop()
    finally:
        mesh.stop()


async def test_two_routers_sharing_redis_enforce_one_rate_limit(shared: tuple[Mesh, Process, str, str]) -> None:
    mesh, _, second, _ = shared
    targets = [mesh.router_target, second]
    with httpx.Client(base_url=mesh.fake_url, timeout=10.0) as fake:
        fake.delete("/_fake/requests")
        replies = await _outcomes(targets, "metered", 3 * RPM)
        assert all(isinstance(r, router_pb2.ChatCompletionResponse) for r in replies), replies
        served = [r for r in replies if isinstance(r, router_pb2.ChatCompletionResponse)]
        limited = _upstream(fake)["fake-metered-limited"]
        # From 80% of its rpm on, the limited deployment is planned after the spare one (never dropped).
        assert int(0.8 * RPM) <= limited <= RPM, "one limit across both routers"
        assert Counter(r.route.model for r in served)["fake-metered-limited"] == limited
        for reply in served:
            if reply.route.model.endswith("spare"):
                assert reply.route.attempts[0].model.endswith("limited") or "deprioritised" in reply.route.reason
        skips = [a for r in served for a in r.route.attempts if a.outcome == route_pb2.ATTEMPT_OUTCOME_SKIPPED]
        assert all(reason_name(a.error_reason) == "rate_limited" for a in skips)
        assert all(f"rpm {RPM}/{RPM} in the last minute" in a.error_message for a in skips)

        alone = await _outcomes(targets, "metered-solo", 2 * RPM)
        errors = [r for r in alone if isinstance(r, grpc.aio.AioRpcError)]
        assert len(errors) == RPM and _upstream(fake)["fake-metered-solo"] == RPM
        refused = from_rpc_error(errors[0])
        assert refused.status == 429 and reason_name(refused.reason) == "rate_limited"
        assert refused.retry_after_s is not None and 0 < refused.retry_after_s <= 60


async def test_active_health_checks_open_the_circuit_of_a_dead_deployment(
    shared: tuple[Mesh, Process, str, str], redis_url: str
) -> None:
    mesh, _, _, prefix = shared
    async with aio_channel(mesh.router_target) as channel:
        stub = router_pb2_grpc.RouterServiceStub(channel)

        async def dead_skipped() -> bool:
            reply = await stub.ChatCompletion(_ask("probed"), timeout=30)
            assert reply.route.model == "fake-probed-live", "traffic never reaches the dead deployment"
            return any(
                a.deployment_id == "probed-dead" and "circuit open" in a.error_message for a in reply.route.attempts
            )

        await wait_until(dead_skipped, 30.0, "the probes to open the dead deployment's circuit")
    state = await RedisState.connect(redis_url, prefix)
    try:
        records = await state.health(["probed-dead"])
    finally:
        await state.close()
    assert not records["probed-dead"].healthy and records["probed-dead"].message


def test_a_redis_outage_degrades_to_local_state_visibly_and_recovers(tmp_path: Path) -> None:
    with throwaway_redis() as server:
        mesh = Mesh(
            tmp_path,
            env={"SWITCHYARD_ROUTER_HEALTH_INTERVAL": "0"},
            request_timeout=30.0,
            switchyard_extra=f"  cache_enabled: false\n  redis_url: {server.url}\n",
        ).start()
        try:
            _outage(mesh, server)
        finally:
            mesh.stop()


def _outage(mesh: Mesh, server: RedisServer) -> None:
    with httpx.Client(base_url=mesh.edge_url, timeout=60.0) as edge:

        def shared_state() -> str:
            reply = edge.get("/readyz")
            assert reply.status_code == 200, "a Redis outage never makes the gateway unready"
            return str(reply.json()["shared_state"])

        assert shared_state() == "ok"
        assert _served(edge, "default")[1]["deployment"]
        server.stop()
        for _ in range(5):
            assert _chat(edge, "default").status_code == 200, "requests go on, on local state"
        wait_until_sync(lambda: shared_state() == "degraded", 30.0, "/readyz to report the degraded state")
        degraded = asyncio.run(_shared_state_status(mesh.router_target))
        assert degraded == health_pb2.HealthCheckResponse.NOT_SERVING
        assert _chat(edge, "default").status_code == 200
        server.start()
        wait_until_sync(lambda: shared_state() == "ok", 30.0, "/readyz to report the shared state back")
        recovered = asyncio.run(_shared_state_status(mesh.router_target))
        assert recovered == health_pb2.HealthCheckResponse.SERVING
        assert _chat(edge, "default").status_code == 200
        assert "Redis unreachable" in mesh.output() and "back on shared state" in mesh.output()
