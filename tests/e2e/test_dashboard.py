"""The cost dashboard in headless Chromium: after real traffic through the mesh, the figures it shows
are the ledger's, only for the master key, and a wrong key shows an error and no data."""

from __future__ import annotations

import os
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from playwright.sync_api import Page, Request

from tests.support import ROOT, Mesh, wait_until_sync

pytestmark = [pytest.mark.mesh, pytest.mark.browser]

MASTER_KEY = f"sk-master-{uuid.uuid4().hex}"
# Two priced groups, so every request of the test has a cost of its own (the shared test models mostly have none).
PRICED_MODELS = """
  - model_name: priced-a
    litellm_params: {model: openai/fake-priced-a, api_base: "$FAKE_URL/v1", api_key: sk-fake}
    model_info: {input_cost_per_token: 0.000002, output_cost_per_token: 0.00001}
  - model_name: priced-b
    litellm_params: {model: openai/fake-priced-b, api_key: sk-fake, api_base: "$FAKE_URL/v1"}
    model_info: {input_cost_per_token: 0.000005, output_cost_per_token: 0.00002}
"""
SCREENSHOT = Path(os.environ.get("SWITCHYARD_DASHBOARD_SCREENSHOT") or ROOT / "build" / "dashboard.png")


@dataclass(frozen=True)
class Traffic:
    """The mesh after a mix of requests, and the key prefix of the budgeted key."""

    mesh: Mesh
    budget_key_prefix: str


def _ask(text: str = "") -> list[Any]:
    return [{"role": "user", "content": text or f"hello {uuid.uuid4().hex}"}]


def _logs(mesh: Mesh) -> list[dict[str, Any]]:
    response = httpx.get(f"{mesh.edge_url}/spend/logs", headers={"Authorization": f"Bearer {MASTER_KEY}"}, timeout=10)
    assert response.status_code == 200, response.text
    return list(response.json())


def _send_traffic(mesh: Mesh) -> tuple[int, str]:
    """Sends requests of several models, teams and features, a cache hit, a failover and a refused one;
    returns how many requests were made and the budgeted key's prefix."""
    admin = httpx.Client(base_url=mesh.edge_url, headers={"Authorization": f"Bearer {MASTER_KEY}"}, timeout=10)

    def key(**body: Any) -> openai.OpenAI:
        made = admin.post("/key/generate", json=body)
        assert made.status_code == 200, made.text
        return openai.OpenAI(base_url=f"{mesh.edge_url}/v1", api_key=made.json()["key"], max_retries=0)

    alpha = key(team_id="alpha", max_budget=3, soft_budget=2, budget_duration="1d")
    beta = key(team_id="beta")
    narrow = key(team_id="beta", models=["priced-b"])
    made = 0
    for model, feature in (("priced-a", "search"), ("priced-a", "search"), ("priced-b", "chat")):
        alpha.chat.completions.create(model=model, messages=_ask(), extra_headers={"x-switchyard-feature": feature})
        made += 1
    repeated = _ask()
    while True:
        made += 1
        raw = beta.chat.completions.with_raw_response.create(
            model="priced-b", messages=repeated, extra_headers={"x-switchyard-feature": "summaries"}
        )
        if raw.headers["x-switchyard-cache"].startswith("hit"):
            break
        assert made < 50, "the exact cache never answered a repeated prompt"
    with mesh.fake_admin() as fake:
        fake.post("/_fake/scripts", json={"model": "fake-primary", "status": 503, "times": 1})
        raw = alpha.chat.completions.with_raw_response.create(model="failover", messages=_ask())
        assert raw.headers["x-switchyard-attempts"] == "2"
        made += 1
    with pytest.raises(openai.PermissionDeniedError):
        narrow.chat.completions.create(model="priced-a", messages=_ask())
    made += 1
    prefix = str(alpha.api_key)[:12]
    admin.close()
    return made, prefix


@pytest.fixture(scope="module")
def traffic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Traffic]:
    mesh = Mesh(Path(tmp_path_factory.mktemp("dashboard")))
    mesh.config_path.write_text(f"general_settings:\n  master_key: {MASTER_KEY}\n" + mesh.render(PRICED_MODELS))
    mesh.start()
    try:
        made, prefix = _send_traffic(mesh)
        wait_until_sync(lambda: len(_logs(mesh)) >= made, 20, f"the ledger to hold all {made} requests")
        yield Traffic(mesh, prefix)
    finally:
        mesh.stop()


def _log_in(page: Page, mesh: Mesh, key: str) -> list[Request]:
    requests: list[Request] = []

    def seen(request: Request) -> None:
        # playwright tags its handlers with an attribute, which a bound builtin like list.append cannot take.
        requests.append(request)

    page.on("request", seen)
    page.goto(f"{mesh.edge_url}/dashboard")
    page.fill("#admin-key", key)
    page.click("#login-button")
    page.wait_for_selector('body[data-state="ready"], body[data-state="error"]', timeout=15_000)
    return requests


def _rows(page: Page, table: str, attribute: str) -> dict[str, float]:
    cells = page.eval_on_selector_all(
        f"#{table} tbody tr[data-value]", f"rows => rows.map(r => [r.dataset.value, r.getAttribute('{attribute}')])"
    )
    return {value: float(amount) for value, amount in cells}


def _totals(logs: list[dict[str, Any]], field: str) -> dict[str, float]:
    result: dict[str, float] = defaultdict(float)
    for row in logs:
        result[row[field]] += row["spend"]
    return dict(result)


def test_dashboard_shows_the_ledger_figures(traffic: Traffic, page: Page) -> None:
    logs = _logs(traffic.mesh)
    requests = _log_in(page, traffic.mesh, MASTER_KEY)
    assert page.get_attribute("body", "data-state") == "ready", page.text_content("#login-error")

    total = sum(r["spend"] for r in logs)
    assert total > 0
    shown = float(page.get_attribute("#total-cost", "data-usd") or "nan")
    assert shown == pytest.approx(total, rel=1e-9)
    assert float((page.text_content("#total-cost") or "").lstrip("$")) == pytest.approx(total, rel=1e-3)
    saved = sum(r["saved_usd"] for r in logs)
    assert saved > 0, "the cache hit saved the cost of the answer it replayed"
    assert float(page.get_attribute("#saved-cost", "data-usd") or "nan") == pytest.approx(saved, rel=1e-9)

    counts = {
        "requests": len(logs),
        "errors": sum(r["status"] != "ok" for r in logs),
        "cache-hits": sum(r["cache_hit"] == "True" for r in logs),
        "failovers": sum(r["failovers"] for r in logs),
    }
    assert counts["errors"] >= 1 and counts["cache-hits"] >= 1 and counts["failovers"] >= 1
    for figure, expected in counts.items():
        assert page.get_attribute(f"#{figure}", "data-count") == str(expected), figure

    per_model = _rows(page, "table-model", "data-usd")
    expected_models = _totals(logs, "model")
    assert per_model.keys() == expected_models.keys()
    for model, cost in expected_models.items():
        assert per_model[model] == pytest.approx(cost, rel=1e-9, abs=1e-15), model
    assert {"alpha", "beta"} <= set(_rows(page, "table-team", "data-usd"))
    assert {"search", "chat", "summaries"} <= set(_rows(page, "table-feature", "data-usd"))
    providers = _rows(page, "table-provider", "data-requests")
    assert sum(providers.values()) == len(logs)
    bars = page.eval_on_selector_all("#chart-model svg rect[data-usd]", "r => r.map(e => Number(e.dataset.usd))")
    assert sum(bars) == pytest.approx(total, rel=1e-9)
    budget = page.locator(f'#table-budgets tr[data-scope="key"][data-id="{traffic.budget_key_prefix}"]')
    assert budget.count() == 1 and budget.get_attribute("data-hard") == "3"

    assert all(MASTER_KEY not in r.url for r in requests), "the key never travels in a URL"
    data_calls = [r for r in requests if "/spend/report" in r.url or "/budget/list" in r.url]
    assert data_calls and all(r.headers.get("authorization") == f"Bearer {MASTER_KEY}" for r in data_calls)
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert SCREENSHOT.stat().st_size > 10_000


def test_a_wrong_key_shows_an_error_and_no_data(traffic: Traffic, page: Page) -> None:
    _log_in(page, traffic.mesh, "sk-sy-wrong-key-000000000000000000")
    assert page.get_attribute("body", "data-state") == "error"
    assert "401" in (page.text_content("#login-error") or "")
    assert page.get_attribute("#total-cost", "data-usd") is None
    assert page.locator("#dashboard tbody tr").count() == 0
    assert not page.is_visible("#dashboard")
    assert page.evaluate("sessionStorage.length") == 0, "a refused key is not kept"


def test_the_shell_is_public_and_the_data_is_not(traffic: Traffic) -> None:
    shell = httpx.get(f"{traffic.mesh.edge_url}/dashboard", timeout=10)
    assert shell.status_code == 200 and shell.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in shell.headers["content-security-policy"]
    for asset in ("app.js", "style.css"):
        assert httpx.get(f"{traffic.mesh.edge_url}/dashboard/{asset}", timeout=10).status_code == 200
    data = httpx.get(f"{traffic.mesh.edge_url}/spend/report", params={"group_by": "model"}, timeout=10)
    assert data.status_code == 401
