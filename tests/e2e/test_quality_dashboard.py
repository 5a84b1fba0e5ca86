"""The quality dashboard in headless Chromium: after graded traffic through the mesh it shows each
deployment's judge scores with its quality alert, and the A/B experiment's report with its intervals,
the same numbers /quality and /experiments/{name}/report answer.

Deployment `graded` answers well for BASELINE requests (the judge gives 9), then badly (4), which
raises one CUSUM alert; experiment `ab` splits users between a good and a weak arm.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page

from tests.evaluation_support import AB_EXPERIMENT, ARM_MODELS, ARM_SCRIPTS, script_fake
from tests.support import ROOT, Mesh, wait_until_sync

pytestmark = [pytest.mark.mesh, pytest.mark.browser, pytest.mark.slow]

MASTER = f"sk-master-{uuid.uuid4().hex}"
MASTER_HEADERS = {"authorization": f"Bearer {MASTER}"}
BASELINE, DROPPED, AB_REQUESTS = 31, 2, 24
GRADED_MODEL = """  - model_name: graded
    litellm_params: {model: openai/fake-graded, api_base: "$FAKE_URL/v1", api_key: sk-fake}
"""
SCRIPTS = (
    *ARM_SCRIPTS,
    {"model": "fake-graded", "content": "GOOD-ANSWER: thorough.", "times": BASELINE},
    {"model": "fake-graded", "content": "WEAK-ANSWER: meh."},
)
SCREENSHOT = Path(os.environ.get("SWITCHYARD_QUALITY_SCREENSHOT") or ROOT / "build" / "quality-dashboard.png")


def _ask(client: httpx.Client, model: str, user: str) -> None:
    prompt = f"Explain recursion ({uuid.uuid4().hex})"  # never a cache hit
    body = {"model": model, "user": user, "messages": [{"role": "user", "content": prompt}]}
    reply = client.post("/v1/chat/completions", json=body, headers=MASTER_HEADERS)
    assert reply.status_code == 200, reply.text


def _get(client: httpx.Client, path: str) -> dict[str, Any]:
    reply = client.get(path, headers=MASTER_HEADERS)
    return reply.json() if reply.status_code == 200 else {}


def _judged(client: httpx.Client) -> int:
    deployments = _get(client, "/quality").get("deployments", [])
    return sum(int(s["judge"]["count"]) for d in deployments for s in d["segments"])


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    mesh = Mesh(
        Path(tmp_path_factory.mktemp("quality-dashboard")),
        extra_models=ARM_MODELS + GRADED_MODEL,
        switchyard_extra=AB_EXPERIMENT + "  evaluation: {sample_rate: 1.0, judge: judge}\n",
        general_settings=f"general_settings:\n  master_key: {MASTER}\n",
    ).start()
    try:
        script_fake(mesh.fake_url, SCRIPTS)
        with httpx.Client(base_url=mesh.edge_url, timeout=20.0) as client:
            for _ in range(BASELINE + DROPPED):
                _ask(client, "graded", "someone")
            for i in range(AB_REQUESTS):
                _ask(client, "ab-model", f"user-{i}")
            total = BASELINE + DROPPED + AB_REQUESTS
            wait_until_sync(lambda: _judged(client) == total, 60.0, "every sample judged")
        yield mesh
    finally:
        mesh.stop()


def _cells(page: Page, selector: str, attributes: tuple[str, ...]) -> list[tuple[str | None, ...]]:
    script = f"nodes => nodes.map(n => {list(attributes)!r}.map(a => n.getAttribute(a)))"
    return [tuple(row) for row in page.eval_on_selector_all(selector, script)]


def test_the_quality_page_shows_scores_alerts_and_the_experiment_report(graded: Mesh, page: Page) -> None:
    with httpx.Client(base_url=graded.edge_url, timeout=10.0) as client:
        quality, report = _get(client, "/quality"), _get(client, "/experiments/ab/report")
    page.goto(f"{graded.edge_url}/dashboard/quality")
    page.fill("#admin-key", MASTER)
    page.click("#login-button")
    page.wait_for_selector('body[data-state="ready"], body[data-state="error"]', timeout=15_000)
    assert page.get_attribute("body", "data-state") == "ready", page.text_content("#login-error")

    alerted = [d["deployment_id"] for d in quality["deployments"] if d["segments"][0]["alerts"] == 1]
    assert len(alerted) == 1 and alerted[0].startswith("graded")
    rows = {
        row[0]: row[1:]
        for row in _cells(
            page, "#table-segments tr[data-deployment]", ("data-deployment", "data-judged", "data-alerts")
        )
    }
    assert rows[alerted[0]] == (str(BASELINE + DROPPED), "1")
    assert len(rows) == len(quality["deployments"]) == 3

    dots = _cells(page, "#chart-quality circle[data-deployment]", ("data-deployment", "data-count"))
    per_deployment = {name: sum(int(c or 0) for n, c in dots if n == name) for name in rows}
    assert per_deployment[alerted[0]] == BASELINE + DROPPED
    assert _cells(page, "#chart-quality [data-alert-ms]", ("data-deployment",)) == [(alerted[0],)]

    assert page.text_content("#verdict") == report["verdict"]
    assert report["verdict"].startswith("arm weak is 5.0 ± 0.0 points worse than arm good")
    arms = {
        a: (float(m or 0), float(lo or 0), float(hi or 0))
        for a, m, lo, hi in _cells(
            page, "#chart-arms circle[data-arm]", ("data-arm", "data-mean", "data-low", "data-high")
        )
    }
    assert arms == {"good": (9.0, 9.0, 9.0), "weak": (4.0, 4.0, 4.0)}
    assert page.get_attribute("#experiment", "value") is None or page.input_value("#experiment") == "ab"

    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)


def test_the_quality_page_refuses_a_wrong_key(graded: Mesh, page: Page) -> None:
    page.goto(f"{graded.edge_url}/dashboard/quality")
    page.fill("#admin-key", "sk-sy-wrong-key-000000000000000000")
    page.click("#login-button")
    page.wait_for_selector('body[data-state="error"]', timeout=15_000)
    assert "401" in (page.text_content("#login-error") or "")
    assert page.locator("#dashboard tbody tr").count() == 0
    assert page.evaluate("sessionStorage.length") == 0
