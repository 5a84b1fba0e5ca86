"""Samples on the Redis stream and scores in Langfuse, through the whole mesh with a real Redis.

The router publishes each completed request of experiment `ab` to the stream `<prefix>evaluation`;
the evaluator's consumer group reads it, the fake judge grades it, the grade reaches the
experiment's report and, as a score on the request's trace, a fake Langfuse. A user's feedback
arrives there too, and the evaluator saves its numbers under a Redis key. The client starts the
trace (a W3C `traceparent`), so the score's trace id is one the test knows; the spans go to an OTLP
collector in the test, which is what turns tracing on.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from tests.evaluation_support import AB_EXPERIMENT, ARM_MODELS, ARM_SCRIPTS, script_fake
from tests.integration.test_tracing import Collector
from tests.langfuse_fake import PUBLIC_KEY, SECRET_KEY, FakeLangfuse, fake_langfuse
from tests.redis_support import throwaway_redis
from tests.support import Mesh, wait_until_sync

pytestmark = [pytest.mark.mesh, pytest.mark.redis]

MASTER = "sk-test-master-evaluation-stream-0123"
MASTER_HEADERS = {"authorization": f"Bearer {MASTER}"}


def _extra(redis_url: str, langfuse_url: str) -> str:
    return f"""  redis_url: "{redis_url}"
{AB_EXPERIMENT}  evaluation:
    sample_rate: 1.0
    judge: judge
    langfuse:
      host: "{langfuse_url}"
      public_key: {PUBLIC_KEY}
      secret_key: os.environ/TEST_LANGFUSE_SECRET
      flush_s: 0.1
"""


@pytest.fixture(scope="module")
def collector() -> Iterator[int]:
    from concurrent import futures

    import grpc
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Collector(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield port
    server.stop(0)


@pytest.fixture(scope="module")
def langfuse() -> Iterator[FakeLangfuse]:
    with fake_langfuse() as fake:
        yield fake


@pytest.fixture(scope="module")
def redis_server() -> Iterator[str]:
    with throwaway_redis() as server:
        yield server.url


@pytest.fixture(scope="module")
def mesh(
    tmp_path_factory: pytest.TempPathFactory, collector: int, langfuse: FakeLangfuse, redis_server: str
) -> Iterator[Mesh]:
    started = Mesh(
        Path(tmp_path_factory.mktemp("evaluation-stream")),
        env={
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{collector}",
            "TEST_LANGFUSE_SECRET": SECRET_KEY,
            "SWITCHYARD_EVALUATOR_SAVE_S": "0.2",
        },
        extra_models=ARM_MODELS,
        switchyard_extra=_extra(redis_server, langfuse.url),
        general_settings=f"general_settings:\n  master_key: {MASTER}\n",
    ).start()
    try:
        script_fake(started.fake_url, ARM_SCRIPTS)
        yield started
    finally:
        started.stop()


def _ask(client: httpx.Client, user: str, trace_id: str) -> httpx.Response:
    body = {"model": "ab-model", "user": user, "messages": [{"role": "user", "content": f"Explain recursion ({user})"}]}
    traceparent = f"00-{trace_id}-{secrets.token_hex(8)}-01"
    return client.post("/v1/chat/completions", json=body, headers={**MASTER_HEADERS, "traceparent": traceparent})


def _judged(client: httpx.Client) -> int:
    reply = client.get("/experiments/ab/report", headers=MASTER_HEADERS)
    arms: list[dict[str, Any]] = reply.json().get("arms", []) if reply.status_code == 200 else []
    return sum(int(arm["judge"]["count"]) for arm in arms)


def test_samples_travel_on_the_redis_stream_and_grades_reach_langfuse_on_their_trace(
    mesh: Mesh, langfuse: FakeLangfuse, redis_server: str
) -> None:
    traces = {f"user-{i}": secrets.token_hex(16) for i in range(6)}
    with httpx.Client(base_url=mesh.edge_url, timeout=20.0) as client:
        answers = {}
        for user, trace_id in traces.items():
            reply = _ask(client, user, trace_id)
            assert reply.status_code == 200, reply.text
            answers[trace_id] = reply.json()["choices"][0]["message"]["content"]
        wait_until_sync(lambda: _judged(client) == len(traces), 30.0, "every sample to be judged")

    stream = redis.Redis.from_url(redis_server)
    try:
        key = "switchyard:router:evaluation"
        assert stream.xlen(key) >= len(traces)  # the samples travelled on the stream
        groups = {g["name"].decode(): g for g in stream.xinfo_groups(key)}
        assert groups["evaluator"]["pending"] == 0  # read by the evaluator's group and acknowledged
        # With Redis, the evaluator keeps its saved numbers there (what a restarted replica reads).
        wait_until_sync(lambda: bool(stream.exists("switchyard:router:evaluator:state")), 10.0, "the saved state")
    finally:
        stream.close()

    def graded() -> bool:
        return all(len(langfuse.by_trace(trace_id)) == 1 for trace_id in traces.values())

    wait_until_sync(graded, 20.0, "a judge score per trace in Langfuse")
    for trace_id, answer in answers.items():
        (score,) = langfuse.by_trace(trace_id)
        assert score["name"] == "switchyard.judge"
        assert score["value"] == (9.0 if answer.startswith("GOOD-ANSWER") else 4.0)


def test_feedback_reaches_langfuse_on_the_rated_requests_trace(mesh: Mesh, langfuse: FakeLangfuse) -> None:
    trace_id = secrets.token_hex(16)
    with httpx.Client(base_url=mesh.edge_url, timeout=20.0) as client:
        reply = _ask(client, "feedback-user", trace_id)
        assert reply.status_code == 200, reply.text
        rated = client.post(
            "/v1/feedback",
            json={"request_id": reply.headers["x-request-id"], "thumbs": "down", "comment": "too short"},
            headers=MASTER_HEADERS,
        )
        assert rated.status_code == 200, rated.text

    def feedback() -> list[dict[str, Any]]:
        return [s for s in langfuse.by_trace(trace_id) if s["name"] == "switchyard.feedback"]

    wait_until_sync(lambda: len(feedback()) == 1, 20.0, "the feedback score in Langfuse")
    (score,) = feedback()
    assert (score["value"], score["comment"]) == (0.0, "too short")
