"""The evaluator's numbers survive a restart: a deployment's judge scores, feedback and quality alert, read
through the edge's /quality before and after the whole gateway is restarted mid-run.

The embedded default (no Redis): the state is a file in the per-user state directory, here the
test's own. The deployment answers well for BASELINE requests (the judge gives 9), then badly (4):
the CUSUM detector, whose baseline the first 30 scores set, raises one alert.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.evaluation_support import JUDGE_SCRIPT, script_fake
from tests.support import Mesh, wait_until_sync

pytestmark = [pytest.mark.mesh, pytest.mark.slow]

MASTER = "sk-test-master-evaluator-restart-0123"
MASTER_HEADERS = {"authorization": f"Bearer {MASTER}"}
BASELINE, DROPPED = 31, 3
MODELS = """  - model_name: graded
    litellm_params: {model: openai/fake-graded, api_base: "$FAKE_URL/v1", api_key: sk-fake}
  - model_name: judge
    litellm_params: {model: openai/fake-judge, api_base: "$FAKE_URL/v1", api_key: sk-fake}
"""


def _ask(client: httpx.Client, count: int) -> str:
    request_id = ""
    for _ in range(count):
        prompt = f"Explain recursion ({uuid.uuid4().hex})"  # never a cache hit
        body = {"model": "graded", "messages": [{"role": "user", "content": prompt}]}
        reply = client.post("/v1/chat/completions", json=body, headers=MASTER_HEADERS)
        assert reply.status_code == 200, reply.text
        request_id = reply.headers["x-request-id"]
    return request_id


def _segments(client: httpx.Client) -> list[dict[str, Any]]:
    reply = client.get("/quality", headers=MASTER_HEADERS)
    assert reply.status_code == 200, reply.text
    graded = [d for d in reply.json()["deployments"] if any(int(s["judge"]["count"]) for s in d["segments"])]
    return graded[0]["segments"] if graded else []


def _judged(client: httpx.Client) -> int:
    return sum(int(segment["judge"]["count"]) for segment in _segments(client))


def test_scores_and_alerts_survive_a_restart(tmp_path: Path) -> None:
    mesh = Mesh(
        tmp_path,
        env={"SWITCHYARD_EVALUATOR_SAVE_S": "0.2"},
        extra_models=MODELS,
        switchyard_extra="  evaluation: {sample_rate: 1.0, judge: judge}\n",
        general_settings=f"general_settings:\n  master_key: {MASTER}\n",
    ).start()
    try:
        script_fake(
            mesh.fake_url,
            (
                JUDGE_SCRIPT,
                {"model": "fake-graded", "content": "GOOD-ANSWER: thorough.", "times": BASELINE},
                {"model": "fake-graded", "content": "WEAK-ANSWER: meh."},
            ),
        )
        with httpx.Client(base_url=mesh.edge_url, timeout=20.0) as client:
            rated = _ask(client, BASELINE + DROPPED)
            feedback = client.post("/v1/feedback", json={"request_id": rated, "score": 0.25}, headers=MASTER_HEADERS)
            assert feedback.status_code == 200, feedback.text

            def settled() -> bool:
                segments = _segments(client)
                judged = sum(int(s["judge"]["count"]) for s in segments)
                return judged == BASELINE + DROPPED and bool(segments) and int(segments[-1]["feedback"]["count"]) == 1

            wait_until_sync(settled, 30.0, "every sample judged and the feedback recorded")
            before = _segments(client)
        assert [s["alerts"] for s in before] == [1]
        assert before[0]["judge"]["mean"] == pytest.approx((9 * BASELINE + 4 * DROPPED) / (BASELINE + DROPPED))

        mesh.stop()
        mesh.start()
        script_fake(mesh.fake_url, (JUDGE_SCRIPT, {"model": "fake-graded", "content": "WEAK-ANSWER: meh."}))
        with httpx.Client(base_url=mesh.edge_url, timeout=20.0) as client:
            assert _segments(client) == before
            _ask(client, 1)  # the restored segment goes on counting
            wait_until_sync(lambda: _judged(client) == BASELINE + DROPPED + 1, 20.0, "the next sample judged")
            after = _segments(client)
        assert [s["alerts"] for s in after] == [1] and int(after[0]["feedback"]["count"]) == 1
    finally:
        mesh.stop()
