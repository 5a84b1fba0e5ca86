"""The router learns from its own traffic, end to end through the edge of a real mesh (`switchyard up`).

Two deployments, `pool-a` (cheaper, configured quality 0.9) and `pool-b` (0.8), behind the `smart`
alias (policy auto with a quality floor of 1, so it routes by predicted quality alone). Coding
requests sent to each group are judged by the scripted fake judge (A's answers 2, B's 9); the
evaluator hands the grades to the router, which keeps them in the SQLite analytics store with the
classifier's category. `switchyard train-router --from-store` refits the quality; the running router
picks the artifact up without a restart, and coding requests to `smart` go to B while chat stays on A.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.evaluation_support import JUDGE_SCRIPT, script_fake
from tests.support import DEFAULT_ALIASES, Mesh, wait_until_sync

pytestmark = pytest.mark.mesh

MASTER = "sk-test-master-learning-0123456789"
HEADERS = {"authorization": f"Bearer {MASTER}", "cache-control": "no-cache"}
PER_DEPLOYMENT = 12
MODELS = """  - model_name: pool-a
    litellm_params: {model: openai/fake-a, api_base: "$FAKE_URL/v1", api_key: sk-fake}
    model_info: {id: pool-a, quality: 0.9, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
  - model_name: pool-b
    litellm_params: {model: openai/fake-b, api_base: "$FAKE_URL/v1", api_key: sk-fake}
    model_info: {id: pool-b, quality: 0.8, input_cost_per_token: 0.000004, output_cost_per_token: 0.000008}
  - model_name: judge
    litellm_params: {model: openai/fake-judge, api_base: "$FAKE_URL/v1", api_key: sk-fake}
"""
SCRIPTS = (
    {"model": "fake-a", "content": "A-ANSWER: def f(): pass"},
    {"model": "fake-b", "content": "B-ANSWER: def reverse(xs): return xs[::-1]"},
    {**JUDGE_SCRIPT, "reply_if": {"B-ANSWER": "Correct. Rating: [[9]]", "A-ANSWER": "Wrong. Rating: [[2]]"}},
)
CODE = "Write a Python function that reverses a list named {name}."
CHAT = "Hi! How are you today?"


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    workdir = Path(tmp_path_factory.mktemp("learning"))
    extra = (
        "  evaluation: {sample_rate: 1.0, judge: judge}\n"
        f"  analytics: {{url: 'sqlite:///{workdir / 'analytics.sqlite3'}'}}\n"
    )
    started = Mesh(
        workdir,
        extra_models=MODELS,
        aliases=DEFAULT_ALIASES + "    smart: {policy: auto, groups: [pool-a, pool-b], quality_floor: 1.0}\n",
        switchyard_extra=extra,
        general_settings=f"general_settings:\n  master_key: {MASTER}\n",
    ).start()
    try:
        script_fake(started.fake_url, SCRIPTS)
        yield started
    finally:
        started.stop()


def _reply(client: httpx.Client, model: str, text: str) -> httpx.Response:
    reply = client.post("/v1/chat/completions", json={"model": model, "messages": [{"role": "user", "content": text}]})
    assert reply.status_code == 200, reply.text
    return reply


def _ask(client: httpx.Client, model: str, text: str) -> str:
    return _reply(client, model, text).headers["x-switchyard-deployment"]


def _kept(store: Path) -> list[tuple[str, str, int]]:
    if not store.exists():
        return []
    with sqlite3.connect(store) as conn:
        try:
            sql = "SELECT deployment, category, COUNT(*) FROM judgements WHERE kind = 'judge' GROUP BY 1, 2 ORDER BY 1"
            return [(str(d), str(c), int(n)) for d, c, n in conn.execute(sql)]
        except sqlite3.OperationalError:  # the router has not migrated the new file yet
            return []


def _feedback(store: Path) -> list[tuple[str, str, str, float]]:
    with sqlite3.connect(store) as conn:
        rows = conn.execute("SELECT request_id, deployment, category, score FROM judgements WHERE kind = 'feedback'")
        return [(str(r), str(d), str(c), float(v)) for r, d, c, v in rows]


def _train(mesh: Mesh) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable,
        "-m",
        "switchyard.cli",
        "train-router",
        "--from-store",
        "--config",
        str(mesh.config_path),
    ]
    env = {**os.environ, **mesh.env}
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_judged_traffic_retrains_the_router_which_reloads_without_a_restart(mesh: Mesh) -> None:
    with httpx.Client(base_url=mesh.edge_url, timeout=20.0, headers=HEADERS) as client:
        assert _ask(client, "smart", CODE.format(name="before")) == "pool-a"  # the configured quality: A first
        for n in range(PER_DEPLOYMENT):
            assert _ask(client, "pool-a", CODE.format(name=f"a{n}")) == "pool-a"
            assert _ask(client, "pool-b", CODE.format(name=f"b{n}")) == "pool-b"
        store = mesh.workdir / "analytics.sqlite3"
        # Every answer is sampled, the first one to `smart` too: A's 13 grades and B's 12, all of coding.
        every = [("pool-a", "code", PER_DEPLOYMENT + 1), ("pool-b", "code", PER_DEPLOYMENT)]
        wait_until_sync(lambda: _kept(store) == every, 60.0, "every coding answer's grade in the store")

        trained = _train(mesh)
        assert trained.returncode == 0, trained.stdout + trained.stderr
        assert "after:  agreement 1.000" in trained.stdout, trained.stdout

        def learned() -> bool:
            return _ask(client, "smart", CODE.format(name="after")) == "pool-b"

        wait_until_sync(learned, 30.0, "the router to reload the learned quality")
        code = _reply(client, "smart", CODE.format(name="explained"))
        assert "best predicted pool-b" in code.headers["x-switchyard-route"], code.headers["x-switchyard-route"]
        assert _ask(client, "smart", CHAT) == "pool-a"  # only coding was learned: chat keeps the configured order


def test_feedback_is_kept_for_training_with_its_deployment_and_category(mesh: Mesh) -> None:
    with httpx.Client(base_url=mesh.edge_url, timeout=20.0, headers=HEADERS) as client:
        request_id = _reply(client, "pool-b", CODE.format(name="rated")).headers["x-request-id"]
        rated = client.post("/v1/feedback", json={"request_id": request_id, "score": 0.75})
        assert rated.status_code == 200, rated.text
    store = mesh.workdir / "analytics.sqlite3"
    assert _feedback(store) == [(request_id, "pool-b", "code", 0.75)]
