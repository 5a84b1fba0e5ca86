"""Governance through the REST edge: LiteLLM's admin paths with the master key, virtual keys used by the
official SDKs, and the ledger read back as JSON and CSV — all against the real mesh."""

from __future__ import annotations

import csv
import hashlib
import io
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest

from tests.support import Mesh, wait_until_sync

pytestmark = pytest.mark.mesh

MASTER_KEY = f"sk-master-{uuid.uuid4().hex}"


def governed_mesh(workdir: Path) -> Mesh:
    """A mesh whose config sets general_settings.master_key, which turns auth on."""
    mesh = Mesh(workdir)
    mesh.config_path.write_text(f"general_settings:\n  master_key: {MASTER_KEY}\n" + mesh.render())
    return mesh


@pytest.fixture(scope="module")
def governed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    mesh = governed_mesh(Path(tmp_path_factory.mktemp("governed"))).start()
    yield mesh
    mesh.stop()


@pytest.fixture
def admin(governed: Mesh) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=governed.edge_url, headers={"Authorization": f"Bearer {MASTER_KEY}"}, timeout=10
    ) as client:
        yield client


def _sdk(mesh: Mesh, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{mesh.edge_url}/v1", api_key=key, max_retries=0)


def _ask() -> list[Any]:
    return [{"role": "user", "content": f"hello {uuid.uuid4().hex}"}]


def _generate(admin: httpx.Client, **body: Any) -> dict[str, Any]:
    response = admin.post("/key/generate", json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_generated_key_answers_with_the_sdk_and_is_refused_other_models(governed: Mesh, admin: httpx.Client) -> None:
    made = _generate(
        admin, models=["solo"], key_alias="only-solo", team_id="search", max_budget=5, budget_duration="1d"
    )
    secret = made["key"]
    assert secret.startswith("sk-sy-") and len(secret) == 6 + 32
    assert made["token"] == hashlib.sha256(secret.encode()).hexdigest()
    assert made["key_name"] == secret[:12] + "..."
    assert (made["models"], made["team_id"], made["key_alias"]) == (["solo"], "search", "only-solo")
    assert made["max_budget"] == 5
    assert made["budget_duration"] in ("1d", "daily"), "LiteLLM's 1d is the daily window"

    client = _sdk(governed, secret)
    reply = client.chat.completions.create(model="solo", messages=_ask())
    assert reply.choices[0].message.content
    with pytest.raises(openai.PermissionDeniedError) as denied:
        client.chat.completions.create(model="default", messages=_ask())
    assert denied.value.status_code == 403
    assert secret not in str(denied.value.body)


def test_models_list_shows_only_what_the_key_may_use(governed: Mesh, admin: httpx.Client) -> None:
    secret = _generate(admin, models=["solo"])["key"]
    assert [m.id for m in _sdk(governed, secret).models.list()] == ["solo"]
    with pytest.raises(openai.AuthenticationError):
        _sdk(governed, "sk-sy-not-a-real-key").models.list()
    assert httpx.get(f"{governed.edge_url}/v1/models").status_code == 401


def test_bad_and_revoked_keys_are_401_on_both_apis(governed: Mesh, admin: httpx.Client) -> None:
    with pytest.raises(openai.AuthenticationError):
        _sdk(governed, "sk-sy-not-a-real-key").chat.completions.create(model="solo", messages=_ask())
    keyless = httpx.post(f"{governed.edge_url}/v1/chat/completions", json={"model": "solo", "messages": _ask()})
    assert keyless.status_code == 401 and keyless.json()["error"]["code"] == "invalid_api_key"

    secret = _generate(admin)["key"]
    claude = anthropic.Anthropic(base_url=governed.edge_url, api_key=secret, max_retries=0)
    assert claude.messages.create(model="solo", max_tokens=16, messages=_ask()).content
    stream = _sdk(governed, secret).chat.completions.create(model="solo", messages=_ask(), stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices)

    deleted = admin.post("/key/delete", json={"keys": [secret]})
    assert deleted.status_code == 200 and deleted.json() == {"deleted_keys": [secret]}
    with pytest.raises(openai.AuthenticationError) as refused:
        _sdk(governed, secret).chat.completions.create(model="solo", messages=_ask())
    assert refused.value.code == "invalid_api_key"
    with pytest.raises(anthropic.AuthenticationError):
        claude.messages.create(model="solo", max_tokens=16, messages=_ask())
    with pytest.raises(openai.AuthenticationError):
        list(_sdk(governed, secret).chat.completions.create(model="solo", messages=_ask(), stream=True))


def test_admin_routes_need_the_master_key(governed: Mesh, admin: httpx.Client) -> None:
    user_key = _generate(admin)["key"]
    paths = [("GET", "/key/list"), ("GET", "/spend/logs"), ("GET", "/budget/list"), ("POST", "/cache/flushall")]
    for method, path in paths:
        anonymous = httpx.request(method, governed.edge_url + path, timeout=10)
        assert anonymous.status_code == 401, (path, anonymous.text)
        assert anonymous.json()["error"]["code"] == "invalid_api_key"
        as_user = httpx.request(method, governed.edge_url + path, headers={"Authorization": f"Bearer {user_key}"})
        assert as_user.status_code in (401, 403), (path, as_user.text)
        assert user_key not in as_user.text


def test_key_info_list_and_teams(admin: httpx.Client) -> None:
    team = admin.post("/team/new", json={"team_alias": "Research", "models": ["solo", "default"], "rpm_limit": 100})
    assert team.status_code == 200, team.text
    team_id = team.json()["team_id"]
    assert team_id and team.json()["models"] == ["solo", "default"] and team.json()["rpm_limit"] == 100
    assert team_id in {t["team_id"] for t in admin.get("/team/list").json()}

    made = _generate(admin, team_id=team_id, app="notebook", metadata={"owner": "ana"}, duration="1h")
    info = admin.post("/key/info", json={"key": made["key"]})
    assert info.status_code == 200, info.text
    body = info.json()
    assert body["key"] == made["key"]
    assert body["info"]["token"] == made["token"] and body["info"]["team_id"] == team_id
    assert body["info"]["app"] == "notebook" and body["info"]["metadata"] == {"owner": "ana"}
    assert body["info"]["expires"] is not None
    assert made["key"] not in str(body["info"]), "key info never carries the secret"
    by_token = admin.get("/key/info", params={"key": made["token"]}).json()["info"]
    assert by_token["key_prefix"] == made["key"][:12]

    listed = admin.get("/key/list", params={"team_id": team_id}).json()
    assert listed["keys"] == [made["token"]] and listed["total_count"] == 1
    full = admin.get("/key/list", params={"team_id": team_id, "return_full_object": "true"}).json()
    assert full["keys"][0]["key_prefix"] == made["key"][:12]


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        ("/key/generate", {"max_budget": "ten"}, "max_budget"),
        ("/key/generate", {"budgets": [{"window": "fortnightly", "hard_usd": 1}]}, "budgets[0].window"),
        ("/key/generate", {"modles": ["solo"]}, "modles"),
        ("/team/new", {"tpm_limit": -5}, "tpm_limit"),
        ("/key/delete", {"keys": []}, "keys"),
        ("/cache/invalidate", {"tenant": "t", "all": True}, "key"),
    ],
)
def test_invalid_bodies_are_400_naming_the_field(admin: httpx.Client, path: str, body: Any, param: str) -> None:
    response = admin.post(path, json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_wrong_method_and_query_are_refused(admin: httpx.Client) -> None:
    assert admin.get("/key/generate").status_code == 405
    assert admin.get("/key/info").status_code == 400
    assert admin.get("/spend/logs", params={"start_date": "yesterday"}).json()["error"]["param"] == "start_date"
    assert admin.get("/spend/report", params={"group_by": "colour"}).status_code == 400


def _logs(admin: httpx.Client, **query: str) -> list[dict[str, Any]]:
    response = admin.get("/spend/logs", params=query)
    assert response.status_code == 200, response.text
    return list(response.json())


def test_spend_logs_report_and_csv_show_each_request(governed: Mesh, admin: httpx.Client) -> None:
    made = _generate(admin, team_id="ledger-team")
    client = _sdk(governed, made["key"])
    ids = [f"req-ledger-{uuid.uuid4().hex}" for _ in range(3)]
    feature = f"summaries-{uuid.uuid4().hex[:6]}"
    for request_id in ids:
        client.chat.completions.create(
            model="default",
            messages=_ask(),
            extra_headers={"x-request-id": request_id, "x-switchyard-feature": feature},
        )

    def logged() -> bool:
        return {r["request_id"] for r in _logs(admin, api_key=made["key"][:12])} >= set(ids)

    wait_until_sync(logged, 15, "the ledger to record the requests")
    rows = [r for r in _logs(admin, team_id="ledger-team") if r["request_id"] in ids]
    assert len(rows) == 3
    for row in rows:
        assert row["api_key"] == made["key"][:12] and row["team_id"] == "ledger-team"
        assert row["feature"] == feature and row["model_group"] == "default"
        assert row["spend"] >= 0 and row["total_tokens"] == row["prompt_tokens"] + row["completion_tokens"] > 0
        assert row["status"] == "ok" and row["startTime"] <= row["endTime"]
    one = _logs(admin, request_id=ids[0])
    assert [r["request_id"] for r in one] == [ids[0]]
    assert len(_logs(admin, team_id="ledger-team", limit="2")) == 2
    today = rows[0]["startTime"][:10]
    assert {r["request_id"] for r in _logs(admin, start_date=today, end_date=today)} >= set(ids)
    assert not _logs(admin, team_id="ledger-team", start_date="2001-01-01", end_date="2001-01-02")

    report = admin.get("/spend/report", params={"group_by": "feature"}).json()
    mine = [r for r in report if r["value"] == feature]
    assert sum(r["requests"] for r in mine) == 3
    assert sum(r["spend"] for r in mine) == pytest.approx(sum(r["spend"] for r in rows), rel=1e-9, abs=1e-12)

    exported = admin.get("/spend/logs", params={"format": "csv", "team_id": "ledger-team"})
    assert exported.headers["content-type"].startswith("text/csv")
    table = [r for r in csv.DictReader(io.StringIO(exported.text)) if r["request_id"] in ids]
    assert sorted(float(r["spend"]) for r in table) == sorted(r["spend"] for r in rows)
    assert admin.get("/spend/logs.csv", params={"request_id": ids[1]}).text.count(ids[1]) == 1
    assert made["key"] not in exported.text


def test_budget_list_shows_a_key_budget_against_its_cap(governed: Mesh, admin: httpx.Client) -> None:
    made = _generate(admin, max_budget=2.5, soft_budget=2, budget_duration="1d")
    _sdk(governed, made["key"]).chat.completions.create(model="default", messages=_ask())
    budgets = admin.get("/budget/list").json()
    mine = [b for b in budgets if b["scope"] == "key" and b["id"] == made["key"][:12]]
    assert len(mine) == 1, budgets
    assert (mine[0]["hard_usd"], mine[0]["soft_usd"]) == (2.5, 2)
    assert mine[0]["window_start"] < mine[0]["window_end"]


def test_cache_flushall_and_invalidate(governed: Mesh, admin: httpx.Client) -> None:
    client = _sdk(governed, MASTER_KEY)
    prompt = _ask()

    def hit() -> bool:
        raw = client.chat.completions.with_raw_response.create(model="solo", messages=prompt)
        return raw.headers["x-switchyard-cache"].startswith("hit")

    wait_until_sync(hit, 15, "the exact cache to answer a repeated prompt")
    flushed = admin.post("/cache/flushall")
    assert flushed.status_code == 200 and flushed.json()["removed"] >= 1
    raw = client.chat.completions.with_raw_response.create(model="solo", messages=prompt)
    assert raw.headers["x-switchyard-cache"] == "miss"
    wait_until_sync(hit, 15, "the answer to be cached again")
    by_group = admin.post("/cache/invalidate", json={"model_group": "solo"})
    assert by_group.status_code == 200 and by_group.json()["removed"] >= 1, by_group.text
    raw = client.chat.completions.with_raw_response.create(model="solo", messages=prompt)
    assert raw.headers["x-switchyard-cache"] == "miss"
    assert admin.post("/cache/delete", json={"keys": ["no-such-entry"]}).json()["removed"] == 0


def test_no_secret_reaches_the_logs(governed: Mesh, admin: httpx.Client) -> None:
    made = _generate(admin)
    with pytest.raises(openai.NotFoundError):
        _sdk(governed, made["key"]).chat.completions.create(model="no-such-model", messages=_ask())
    output = governed.output()
    assert MASTER_KEY not in output and MASTER_KEY[:20] not in output
    assert made["key"] not in output and made["key"][:16] not in output
