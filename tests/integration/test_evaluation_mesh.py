"""The evaluator end to end: an A/B experiment graded by a scripted fake judge, feedback and the report.

Everything through the edge of a real mesh (`switchyard up`, no Redis: samples travel from the
router to the evaluator over gRPC). Arm `good` answers "GOOD-ANSWER", arm `weak` (half the price)
"WEAK-ANSWER"; the fake judge grades by what the answer says (9 and 4).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.evaluation_support import AB_EXPERIMENT, ARM_MODELS, ARM_SCRIPTS, script_fake
from tests.support import Mesh, wait_until_sync

pytestmark = pytest.mark.mesh

MASTER = "sk-test-master-evaluator-0123456789"
REQUESTS = 40
EXTRA = AB_EXPERIMENT + "  evaluation: {sample_rate: 1.0, judge: judge}\n"
MASTER_HEADERS = {"authorization": f"Bearer {MASTER}"}


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    started = Mesh(
        Path(tmp_path_factory.mktemp("evaluation")),
        extra_models=ARM_MODELS,
        switchyard_extra=EXTRA,
        general_settings=f"general_settings:\n  master_key: {MASTER}\n",
    ).start()
    try:
        script_fake(started.fake_url, ARM_SCRIPTS)
        yield started
    finally:
        started.stop()


def _key(client: httpx.Client) -> str:
    reply = client.post("/key/generate", json={}, headers=MASTER_HEADERS)
    assert reply.status_code == 200, reply.text
    return str(reply.json()["key"])


def _ask(client: httpx.Client, key: str, user: str) -> httpx.Response:
    body = {"model": "ab-model", "user": user, "messages": [{"role": "user", "content": f"Explain recursion ({user})"}]}
    return client.post("/v1/chat/completions", json=body, headers={"authorization": f"Bearer {key}"})


def _report(client: httpx.Client) -> dict[str, Any]:
    reply = client.get("/experiments/ab/report", headers=MASTER_HEADERS)
    return reply.json() if reply.status_code == 200 else {}


def test_the_report_says_the_weaker_arm_is_worse_and_cheaper(mesh: Mesh) -> None:
    with httpx.Client(base_url=mesh.edge_url, timeout=20.0) as client:
        key = _key(client)
        arms = set()
        for i in range(REQUESTS):
            reply = _ask(client, key, f"user-{i}")
            assert reply.status_code == 200, reply.text
            arms.add(reply.json()["choices"][0]["message"]["content"].split(":")[0])
        assert arms == {"GOOD-ANSWER", "WEAK-ANSWER"}

        def judged() -> bool:
            arms = _report(client).get("arms", [])
            return sum(int(arm["judge"]["count"]) for arm in arms) == REQUESTS

        wait_until_sync(judged, 30.0, "every sample to be judged")
        report = _report(client)
        by_arm = {arm["arm"]: arm for arm in report["arms"]}
        assert [arm["arm"] for arm in report["arms"]] == ["good", "weak"]
        assert by_arm["good"]["judge"]["mean"] == 9.0 and by_arm["weak"]["judge"]["mean"] == 4.0
        assert by_arm["weak"]["cost_usd"]["mean"] < by_arm["good"]["cost_usd"]["mean"]
        assert by_arm["good"]["error_rate"]["mean"] == 0.0
        assert report["significant"] is True
        assert report["verdict"].startswith("arm weak is 5.0 ± 0.0 points worse than arm good at "), report["verdict"]
        assert f"lower cost; {REQUESTS} samples" in report["verdict"]

        unauthorised = client.get("/experiments/ab/report", headers={"authorization": f"Bearer {key}"})
        assert unauthorised.status_code in (401, 403) and "error" in unauthorised.json()
        missing = client.get("/experiments/nothing/report", headers=MASTER_HEADERS)
        assert missing.status_code == 404 and missing.json()["error"]["message"]


def test_feedback_on_an_own_request_counts_and_another_keys_is_refused(mesh: Mesh) -> None:
    with httpx.Client(base_url=mesh.edge_url, timeout=20.0) as client:
        mine, theirs = _key(client), _key(client)
        answered = _ask(client, mine, "feedback-user")
        assert answered.status_code == 200, answered.text
        request_id = answered.headers["x-request-id"]
        before = {arm["arm"]: int(arm["feedback"]["count"]) for arm in _report(client).get("arms", [])}

        def rate(key: str, body: dict[str, Any]) -> httpx.Response:
            return client.post("/v1/feedback", json=body, headers={"authorization": f"Bearer {key}"})

        ok = rate(mine, {"request_id": request_id, "thumbs": "up", "comment": "helpful"})
        assert ok.status_code == 200, ok.text
        assert ok.json()["score"] == 1.0

        refused = rate(theirs, {"request_id": request_id, "score": 0.0})
        assert refused.status_code == 403
        assert refused.json()["error"]["type"]

        unknown = rate(mine, {"request_id": "no-such-request", "score": 0.5})
        assert unknown.status_code == 404 and unknown.json()["error"]["message"]
        bad = rate(mine, {"request_id": request_id, "score": 7})
        assert bad.status_code == 400 and bad.json()["error"]["param"] == "score"

        def counted() -> bool:
            after = {arm["arm"]: int(arm["feedback"]["count"]) for arm in _report(client).get("arms", [])}
            return sum(after.values()) == sum(before.values()) + 1

        wait_until_sync(counted, 10.0, "the feedback to reach the report")
