"""The admin API's JSON ⇄ protobuf: LiteLLM's fields in, LiteLLM's shapes out, 400s that name the field."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from switchyard.router.v1 import admin_pb2
from switchyard.runtime.errors import SwitchyardError
from switchyard.services.edge.admin import fields, keys, spend
from switchyard.services.edge.translate import credentials, request_context


def _param(call: Any, *args: Any) -> str | None:
    with pytest.raises(SwitchyardError) as caught:
        call(*args)
    assert caught.value.status == 400
    return caught.value.param


def test_generate_body_maps_litellm_fields_and_budgets() -> None:
    request = keys.generate_request(
        {
            "models": ["solo", "auto"],
            "team_id": "search",
            "app": "web",
            "max_budget": 10,
            "budget_duration": "30d",
            "soft_budget": 8.5,
            "rpm_limit": 60,
            "tpm_limit": 10_000,
            "metadata": {"owner": "ana", "tier": 2},
            "duration": "12h",
            "key_alias": "search-web",
            "budgets": [{"window": "daily", "hard_usd": 1}],
            "user_id": None,
        }
    )
    spec = request.spec
    assert (spec.team_id, spec.app, spec.key_alias, spec.duration) == ("search", "web", "search-web", "12h")
    assert list(spec.limits.models) == ["solo", "auto"]
    assert (spec.limits.rpm_limit, spec.limits.tpm_limit) == (60, 10_000)
    assert [(b.window, b.hard_usd, b.soft_usd) for b in spec.limits.budgets] == [("30d", 10, 8.5), ("daily", 1, 0)]
    assert dict(spec.metadata) == {"owner": "ana", "tier": "2"}
    assert request.key == ""


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"max_budget": "ten"}, "max_budget"),
        ({"max_budget": -1}, "max_budget"),
        ({"rpm_limit": 1.5}, "rpm_limit"),
        ({"models": "solo"}, "models"),
        ({"key": "mine-123"}, "key"),
        ({"duration": "forever"}, "duration"),
        ({"max_budget": 1, "budget_duration": "weekly"}, "budget_duration"),
        ({"budget_duration": "1d"}, "budget_duration"),
        ({"budgets": [{"hard_usd": 1}]}, "budgets[0].window"),
        ({"budgets": [{"window": "daily", "hard_usd": "x"}]}, "budgets[0].hard_usd"),
        ({"budgets": [{"window": "daily", "hard": 1}]}, "budgets[0].hard"),
        ({"metadata": ["a"]}, "metadata"),
        ({"max_budgets": 5}, "max_budgets"),
    ],
)
def test_a_wrong_generate_field_is_a_400_naming_it(body: dict[str, Any], param: str) -> None:
    assert _param(keys.generate_request, body) == param


def test_key_json_is_litellm_shaped_and_never_carries_the_secret() -> None:
    info = admin_pb2.KeyInfo(
        token="ab" * 32,
        key_prefix="sk-sy-abcdef",
        spec=admin_pb2.KeySpec(
            key_alias="a",
            team_id="t",
            limits=admin_pb2.Limits(budgets=[admin_pb2.Budget(window="1d", hard_usd=2, soft_usd=1)]),
        ),
        created_at_ms=1_700_000_000_000,
        spend_usd=0.25,
    )
    shown = keys.key_json(info)
    assert shown["token"] == "ab" * 32
    assert shown["key_name"] == "sk-sy-abcdef..."
    assert (shown["max_budget"], shown["budget_duration"], shown["soft_budget"]) == (2, "1d", 1)
    assert shown["expires"] is None and shown["created_at"] == "2023-11-14T22:13:20.000Z"
    assert shown["spend"] == 0.25 and "key" not in shown


def test_team_body_needs_valid_fields() -> None:
    team = keys.team_request({"team_id": "t1", "team_alias": "Search", "models": ["solo"], "tpm_limit": 5}).team
    assert (team.team_id, team.team_alias, list(team.limits.models), team.limits.tpm_limit) == (
        "t1",
        "Search",
        ["solo"],
        5,
    )
    assert _param(keys.team_request, {"team_id": 7}) == "team_id"
    assert _param(keys.team_request, {"app": "web"}) == "app"


def test_spend_log_query_reads_days_as_inclusive_utc_ranges() -> None:
    request = spend.logs_request(
        {"start_date": "2024-03-01", "end_date": "2024-03-01", "api_key": "sk-sy-0123456789abcdef", "limit": "5"}
    )
    assert request.start_ms == 1_709_251_200_000
    assert request.end_ms == 1_709_251_200_000 + 86_400_000 - 1
    assert request.key_prefix == "sk-sy-012345", "a whole key is cut to its prefix"
    assert request.limit == 5
    assert _param(spend.logs_request, {"start_date": "03/01/2024"}) == "start_date"
    assert _param(spend.logs_request, {"start_date": "2024-03-02", "end_date": "2024-03-01"}) == "end_date"
    assert _param(spend.logs_request, {"limit": "-3"}) == "limit"
    assert _param(spend.report_request, {"group_by": "colour"}) == "group_by"


def test_spend_log_row_and_csv_quote_formulas() -> None:
    record = admin_pb2.LedgerRecord(
        time_ms=1_700_000_000_000,
        request_id="req-1",
        key_prefix="sk-sy-abcdef",
        team="t",
        feature="=HYPERLINK(1)",
        alias="auto",
        model="fake-solo",
        deployment_id="solo-1",
        prompt_tokens=3,
        completion_tokens=4,
        cost_usd=1e-5 / 3,
        latency_ms=120.4,
        cache="hit",
        status="ok",
    )
    row = spend.log_json(record)
    assert (row["model_group"], row["model"], row["model_id"], row["api_key"]) == (
        "auto",
        "fake-solo",
        "solo-1",
        "sk-sy-abcdef",
    )
    assert (row["total_tokens"], row["cache_hit"], row["endTime"]) == (7, "True", "2023-11-14T22:13:20.120Z")
    table = list(csv.DictReader(io.StringIO(spend.logs_csv([row]).decode())))
    assert table[0]["feature"] == "'=HYPERLINK(1)"
    assert float(table[0]["spend"]) == record.cost_usd, "amounts keep full precision"


def test_credentials_forward_bearer_or_x_api_key_and_refuse_unprintable() -> None:
    assert credentials({"authorization": "Bearer sk-a"}) == (("authorization", "Bearer sk-a"),)
    assert credentials({"x-api-key": "sk-b"}) == (("authorization", "Bearer sk-b"),)
    assert credentials({}) == ()
    with pytest.raises(SwitchyardError) as caught:
        credentials({"authorization": "Bearer sk-\u00e9"})
    assert caught.value.status == 401 and "sk-" not in caught.value.message


def test_feature_header_tags_the_context() -> None:
    assert request_context({"x-switchyard-feature": " search "}).feature == "search"
    assert fields.json_object(b"") == {}
