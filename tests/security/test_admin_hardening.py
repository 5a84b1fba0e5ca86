"""The admin API against a hostile caller with the master key's reach in mind: weak chosen keys, huge
fields, key secrets in URLs; the edge's public /metrics; and the master key's cache tenant."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import openai
import pytest

from tests.support import Mesh, wait_until_sync

pytestmark = pytest.mark.mesh

# As large as the test mesh's 64 KiB body limit allows (the default limit, 4 MiB, lets 100 KB through to here).
HUGE = "t" * 50_000


def _generate(admin: httpx.Client, **body: Any) -> dict[str, Any]:
    reply = admin.post("/key/generate", json=body)
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


@pytest.mark.parametrize(
    "key",
    ["sk-1", "sk-" + "a" * 40, "sk-" + "0123456789" * 4, "sk-" + "ab" * 20, "sk-with space 0123456789abcdefghijkl"],
    ids=["short", "one-character", "repeated-pattern", "two-characters", "space"],
)
def test_a_weak_chosen_key_is_refused(admin: httpx.Client, key: str) -> None:
    reply = admin.post("/key/generate", json={"key": key})
    assert reply.status_code == 400, reply.text
    assert reply.json()["error"]["param"] == "key"


def test_a_random_chosen_key_is_taken_and_works(governed_mesh: Mesh, admin: httpx.Client) -> None:
    key = f"sk-{uuid.uuid4().hex}"
    made = _generate(admin, key=key, models=["priced"])
    assert made["key"] == key
    client = openai.OpenAI(base_url=f"{governed_mesh.edge_url}/v1", api_key=key, max_retries=0)
    assert client.chat.completions.create(model="priced", messages=[{"role": "user", "content": "hi"}]).choices


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        ("/key/generate", {"team_id": HUGE}, "team_id"),
        ("/key/generate", {"key_alias": HUGE}, "key_alias"),
        ("/key/generate", {"app": HUGE}, "app"),
        ("/key/generate", {"models": [HUGE]}, "models[0]"),
        ("/key/generate", {"models": ["m"] * 10_000}, "models"),
        ("/key/generate", {"metadata": {"owner": HUGE}}, "metadata.owner"),
        ("/key/generate", {"metadata": {str(i): "v" for i in range(1000)}}, "metadata"),
        ("/key/generate", {"team_id": "line\nbreak"}, "team_id"),
        ("/key/generate", {"rpm_limit": 2**63}, "rpm_limit"),  # past int64: a 500 before
        ("/team/new", {"team_id": HUGE}, "team_id"),
        ("/team/new", {"team_alias": HUGE}, "team_alias"),
        ("/team/new", {"budgets": [{"window": "daily", "hard_usd": 1}] * 100}, "budgets"),
        ("/key/delete", {"keys": [HUGE]}, "keys[0]"),
        ("/cache/invalidate", {"tenant": HUGE}, "tenant"),
    ],
    ids=lambda v: v if isinstance(v, str) and len(v) < 40 else "",
)
def test_every_admin_string_and_list_is_bounded_with_a_400_naming_it(
    admin: httpx.Client, path: str, body: dict[str, Any], param: str
) -> None:
    reply = admin.post(path, json=body)
    assert reply.status_code == 400, reply.text[:300]
    assert reply.json()["error"]["param"] == param
    assert len(reply.content) < 1000, "the error does not echo the value"


def test_a_huge_query_parameter_is_a_400_naming_it(admin: httpx.Client) -> None:
    reply = admin.get("/key/list", params={"team_id": "q" * 10_000})
    assert reply.status_code == 400 and reply.json()["error"]["param"] == "team_id"


def test_a_key_secret_in_the_url_is_refused_and_the_body_or_a_header_carry_it(admin: httpx.Client) -> None:
    made = _generate(admin, team_id="lookup")
    in_url = admin.get("/key/info", params={"key": made["key"]})
    assert in_url.status_code == 400, in_url.text
    assert in_url.json()["error"]["param"] == "key"
    assert "URL" in in_url.json()["error"]["message"]
    assert made["key"] not in in_url.text

    by_body = admin.post("/key/info", json={"key": made["key"]})
    assert by_body.status_code == 200 and by_body.json()["info"]["token"] == made["token"]
    by_header = admin.get("/key/info", headers={"x-switchyard-key": made["key"]})
    assert by_header.status_code == 200 and by_header.json()["info"]["token"] == made["token"]
    # A token is not a secret: it may stay in a URL.
    by_token = admin.get("/key/info", params={"key": made["token"]})
    assert by_token.status_code == 200 and by_token.json()["info"]["team_id"] == "lookup"


def test_the_edge_metrics_never_show_teams_features_keys_or_spend(governed_mesh: Mesh, admin: httpx.Client) -> None:
    team, feature = f"team-{uuid.uuid4().hex[:10]}", f"feature-{uuid.uuid4().hex[:10]}"
    made = _generate(admin, team_id=team, app="metrics-app", max_budget=50)
    client = openai.OpenAI(base_url=f"{governed_mesh.edge_url}/v1", api_key=made["key"], max_retries=0)
    client.chat.completions.create(
        model="priced",
        messages=[{"role": "user", "content": f"spend {uuid.uuid4().hex}"}],
        extra_headers={"x-switchyard-feature": feature},
    )
    router = governed_mesh.metrics_url("router")
    wait_until_sync(lambda: team in httpx.get(router, timeout=5).text, 10, "the router to count the team's spend")

    public = httpx.get(f"{governed_mesh.edge_url}/metrics", timeout=5)
    assert public.status_code == 200
    for secret in (team, feature, "metrics-app", made["key"][:12], "cost_usd", "budget"):
        assert secret not in public.text, secret


def test_a_team_named_admin_does_not_share_the_master_keys_cache(governed_mesh: Mesh, admin: httpx.Client) -> None:
    prompt = [{"role": "user", "content": f"what the master key asked {uuid.uuid4().hex}"}]

    def cache_of(key: str) -> str:
        client = openai.OpenAI(base_url=f"{governed_mesh.edge_url}/v1", api_key=key, max_retries=0)
        raw = client.chat.completions.with_raw_response.create(model="priced", messages=prompt)  # type: ignore[arg-type]
        return str(raw.headers["x-switchyard-cache"])

    master = str(admin.headers["authorization"]).removeprefix("Bearer ")
    cache_of(master)
    wait_until_sync(lambda: cache_of(master).startswith("hit"), 15, "the master key's answer to be cached")
    assert admin.post("/team/new", json={"team_id": "admin"}).status_code == 200
    team_admin = _generate(admin, team_id="admin")["key"]
    assert cache_of(team_admin) == "miss", "a team called admin read the master key's cached answer"
