"""Hedged requests through the edge: a group whose first deployment is slow gets its answer from the
fast one, the slow call is cancelled, and the ledger records the request once, at the winner's price.

The `hedged` group tries its slow deployment first (order 1) and hedges to the fast one (order 2)
after 200 ms; the fake provider holds the slow model's replies for SLOW_MS.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.integration.test_metrics import delta, scrape
from tests.support import Mesh, wait_until_sync
from tests.unit.router.test_failover_policy import parse_route_header

pytestmark = pytest.mark.mesh

MASTER_KEY = f"sk-master-{uuid.uuid4().hex}"
SLOW_MS = 6000
HEDGED = """\
  - model_name: hedged
    litellm_params: {model: openai/fake-hedge-slow, api_base: "$FAKE_URL/v1", api_key: sk-fake, order: 1}
    model_info: {id: hedge-slow, input_cost_per_token: 0.001, output_cost_per_token: 0.001}
  - model_name: hedged
    litellm_params: {model: openai/fake-hedge-fast, api_base: "$FAKE_URL/v1", api_key: sk-fake, order: 2}
    model_info: {id: hedge-fast, input_cost_per_token: 0.000002, output_cost_per_token: 0.00001}
"""
GROUPS = "  groups:\n    hedged: {hedge: {after_ms: 200}}\n"


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    started = Mesh(
        Path(tmp_path_factory.mktemp("hedging")),
        request_timeout=20,
        extra_models=HEDGED,
        switchyard_extra=GROUPS,
        general_settings=f"general_settings:\n  master_key: {MASTER_KEY}\n",
    ).start()
    yield started
    started.stop()


@pytest.fixture
def admin(mesh: Mesh) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {MASTER_KEY}"}
    with httpx.Client(base_url=mesh.edge_url, headers=headers, timeout=30) as client:
        yield client


def _ask(admin: httpx.Client, request_id: str, **extra: Any) -> httpx.Response:
    body = {"model": "hedged", "messages": [{"role": "user", "content": f"hedge {request_id}"}], **extra}
    return admin.post("/v1/chat/completions", json=body, headers={"x-request-id": request_id})


def _content(reply: httpx.Response, stream: bool) -> str:
    if not stream:
        return str(reply.json()["choices"][0]["message"]["content"])
    events = [orjson.loads(line[6:]) for line in reply.text.splitlines() if line.startswith("data: {")]
    return "".join(c["delta"].get("content") or "" for e in events for c in e["choices"])


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_a_slow_deployment_is_hedged_and_the_fast_answer_is_billed_once(
    mesh: Mesh, admin: httpx.Client, stream: bool
) -> None:
    request_id = f"req-hedge-{uuid.uuid4().hex}"
    before = scrape(mesh, "router")
    with mesh.fake_admin() as fake:
        fake.post("/_fake/scripts", json={"model": "fake-hedge-slow", "latency_ms": SLOW_MS, "ttft_ms": SLOW_MS})
        started = time.monotonic()
        reply = _ask(admin, request_id, **({"stream": True} if stream else {}))
        took = time.monotonic() - started
        assert reply.status_code == 200, reply.text
        assert f"hedge {request_id}"[:30] in _content(reply, stream), "the fast deployment's reply to this prompt"
        assert took < SLOW_MS / 1000 / 2, f"the answer waited for the slow deployment ({took:.1f}s)"
        called = [r["body"]["model"] for r in fake.get("/_fake/requests").json()]
        assert called == ["fake-hedge-slow", "fake-hedge-fast"]

    route = parse_route_header(reply.headers["x-switchyard-route"])
    assert route["served"] == "hedge-fast" or route.get("deployment") == "hedge-fast", route
    after = scrape(mesh, "router")
    assert delta(before, after, "switchyard_router_hedges_total", group="hedged", outcome="fired") == 1
    assert delta(before, after, "switchyard_router_hedges_total", group="hedged", outcome="won") == 1
    assert delta(before, after, "switchyard_router_tokens_total", model="fake-hedge-slow") == 0

    def logged() -> list[dict[str, Any]]:
        response = admin.get("/spend/logs", params={"request_id": request_id})
        assert response.status_code == 200, response.text
        return list(response.json())

    wait_until_sync(lambda: bool(logged()), 15, "the ledger to record the request")
    rows = logged()
    assert len(rows) == 1, rows
    assert 0 < rows[0]["spend"] < 0.001, "priced at the fast deployment's rates, once"
