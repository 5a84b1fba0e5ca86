"""Circuits through the real mesh: a recovered deployment gets traffic back without the active health
check, a slow-drip stream opens its deployment's circuit, and a rate-limited group with a long
Retry-After fails over at once instead of holding the request.

The mesh's circuits open after 2 failures (allowed_fails 1) and cool down for COOLDOWN_S; the active
health check runs once an hour, so only real traffic can close a circuit here.
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

from tests.support import Mesh, wait_until_sync

pytestmark = pytest.mark.mesh

ALLOWED_FAILS = 1
COOLDOWN_S = 3.0
_KEY = 'api_base: "$FAKE_URL/v1", api_key: sk-fake'
EXTRA_MODELS = (
    f"  - model_name: pair\n    litellm_params: {{model: openai/fake-pa, {_KEY}}}\n"
    f"  - model_name: pair\n    litellm_params: {{model: openai/fake-pb, {_KEY}}}\n"
    f"  - model_name: drip\n    litellm_params: {{model: openai/fake-drip, {_KEY}, order: 1}}\n"
    f"  - model_name: drip\n    litellm_params: {{model: openai/fake-steady, {_KEY}, order: 2}}\n"
    f"  - model_name: limited\n    litellm_params: {{model: openai/fake-limited, {_KEY}}}\n"
    f"  - model_name: spare\n    litellm_params: {{model: openai/fake-spare, {_KEY}}}\n"
)
ROUTER_SETTINGS = """  fallbacks: [{limited: [spare]}]
  stream_idle_timeout: 0.5
  max_retry_wait_s: 1.0
"""


@pytest.fixture(scope="module")
def recovery_mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    mesh = Mesh(
        Path(tmp_path_factory.mktemp("recovery")),
        env={"SWITCHYARD_ROUTER_HEALTH_INTERVAL": "3600"},
        request_timeout=8.0,
        extra_models=EXTRA_MODELS,
        router_settings=ROUTER_SETTINGS,
        allowed_fails=ALLOWED_FAILS,
        cooldown_time=COOLDOWN_S,
    ).start()
    yield mesh
    mesh.stop()


@pytest.fixture
def fake(recovery_mesh: Mesh) -> Iterator[httpx.Client]:
    with recovery_mesh.fake_admin() as client:
        yield client


@pytest.fixture
def edge(recovery_mesh: Mesh) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=recovery_mesh.edge_url, timeout=20.0) as client:
        yield client


def _script(fake: httpx.Client, model: str, **values: Any) -> None:
    assert fake.post("/_fake/scripts", json={"model": f"fake-{model}", **values}).status_code == 200


def _log(fake: httpx.Client) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = fake.get("/_fake/requests").json()
    return entries


def _calls(fake: httpx.Client, model: str) -> list[dict[str, Any]]:
    return [e for e in _log(fake) if e["body"].get("model") == f"fake-{model}"]


def _body(model: str, **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": f"recovery {uuid.uuid4().hex}"}], **extra}


def _ask(edge: httpx.Client, model: str) -> httpx.Response:
    return edge.post("/v1/chat/completions", json=_body(model), headers={"cache-control": "no-cache"})


def _stream(edge: httpx.Client, model: str) -> list[str]:
    """Returns the data of every server-sent event of a streamed request through the edge."""
    with edge.stream(
        "POST", "/v1/chat/completions", json=_body(model, stream=True), headers={"cache-control": "no-cache"}
    ) as reply:
        assert reply.status_code == 200, reply.read()
        return [line.removeprefix("data: ") for line in reply.iter_lines() if line.startswith("data: ")]


def test_an_opened_circuit_gets_traffic_again_after_cooldown_without_the_health_check(
    edge: httpx.Client, fake: httpx.Client
) -> None:
    _script(fake, "pa", status=503)

    def pa_circuit_opened() -> bool:
        reply = _ask(edge, "pair")
        assert reply.status_code == 200, "pb answers whenever pa fails"
        return len(_calls(fake, "pa")) > ALLOWED_FAILS

    wait_until_sync(pa_circuit_opened, 20.0, "pa to fail allowed_fails + 1 times")
    opened = time.monotonic()
    fake.delete("/_fake/scripts")
    failures = len(_calls(fake, "pa"))

    def pa_answers_again() -> bool:
        reply = _ask(edge, "pair")
        assert reply.status_code == 200, reply.text
        return any(e["status"] == 200 for e in _calls(fake, "pa"))

    wait_until_sync(pa_answers_again, COOLDOWN_S + 2.0 - (time.monotonic() - opened), "pa to be probed by a request")
    # Once half-open it was called exactly once more (the probe), and answered.
    assert [e["status"] for e in _calls(fake, "pa")[failures:]] == [200]


def test_a_slow_drip_stream_ends_with_an_error_and_opens_the_circuit(edge: httpx.Client, fake: httpx.Client) -> None:
    """fake-drip sends its first events at once, then one every 5 s: past stream_idle_timeout (0.5 s)
    each stream ends with an error event, and allowed_fails + 1 of them open drip's circuit, so the
    next request goes to its order-2 deployment and streams to a normal end."""
    _script(fake, "drip", drip_after=3, chunk_delay_ms=5000)
    interrupted = 0
    while True:
        events = _stream(edge, "drip")
        if events[-1] == "[DONE]":
            break
        interrupted += 1
        assert "[DONE]" not in events, "a stream that went idle never ends normally"
        error = orjson.loads(events[-1])["error"]
        assert "stream_idle_timeout" in error["message"]
        assert interrupted <= ALLOWED_FAILS + 1, "the circuit opens within allowed_fails + 1 slow streams"
    assert interrupted == ALLOWED_FAILS + 1
    assert len(_calls(fake, "drip")) == ALLOWED_FAILS + 1
    assert [e["completed"] for e in _calls(fake, "steady")] == [True]


def test_a_rate_limited_group_with_a_long_retry_after_fails_over_at_once(
    edge: httpx.Client, fake: httpx.Client
) -> None:
    """Retry-After 3 s exceeds max_retry_wait_s (1 s) and `spare` can answer now: no retry of `limited`."""
    _script(fake, "limited", status=429, retry_after="3")
    reply = _ask(edge, "limited")
    assert reply.status_code == 200, reply.text
    assert [e["body"]["model"] for e in _log(fake)] == ["fake-limited", "fake-spare"]
    assert reply.headers["x-switchyard-attempts"] == "2"
