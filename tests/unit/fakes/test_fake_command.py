"""The fakes' one command line: `--wire` (or SWITCHYARD_FAKE_WIRE) picks the vendor API the fake speaks."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from google.auth.transport.requests import Request
from google.oauth2 import service_account

from switchyard.fakes.__main__ import build, parse_args
from switchyard.fakes.config import FakeSettings
from switchyard.fakes.vertex_fake_oauth import CLOUD_PLATFORM_SCOPE, new_service_account_key


def _openai(page: dict[str, Any]) -> bool:
    return page["object"] == "list" and "fake-gpt-4o" in {m["id"] for m in page["data"]}


def _anthropic(page: dict[str, Any]) -> bool:
    return page["has_more"] is False and "fake-claude-sonnet" in {m["id"] for m in page["data"]}


def _gemini(page: dict[str, Any]) -> bool:
    return "models/fake-gemini-2.5-flash" in {m["name"] for m in page["models"]}


def _ollama(page: dict[str, Any]) -> bool:
    return "fake-gpt-4o" in {m["model"] for m in page["models"]}


@pytest.mark.parametrize(
    ("wire", "path", "is_its_model_list"),
    [
        ("openai", "/v1/models", _openai),
        ("anthropic", "/v1/models", _anthropic),
        ("gemini", "/v1/models", _gemini),
        ("azure", "/openai/models?api-version=2024-10-21", _openai),
        ("mistral", "/v1/models", _openai),
        ("ollama", "/api/tags", _ollama),
    ],
)
async def test_wire_picks_the_vendor_api_the_fake_serves(wire: str, path: str, is_its_model_list: Any) -> None:
    fake = build(parse_args(["--wire", wire, "--chunks", "2", "--latency-ms", "0"], FakeSettings()))
    assert fake.defaults.chunks == 2
    await fake.start("127.0.0.1", 0)
    try:
        headers = {"anthropic-version": "2023-06-01"} if wire == "anthropic" else {}
        async with httpx.AsyncClient() as http:
            page = (await http.get(f"{fake.admin_url}{path}", headers=headers)).json()
    finally:
        await fake.close()
    assert is_its_model_list(page), page


def test_settings_give_the_defaults_and_flags_override_them(monkeypatch: pytest.MonkeyPatch) -> None:
    assert parse_args([], FakeSettings()).wire == "openai"
    monkeypatch.setenv("SWITCHYARD_FAKE_WIRE", "gemini")
    monkeypatch.setenv("SWITCHYARD_FAKE_PORT", "9999")
    args = parse_args([], FakeSettings())
    assert (args.wire, args.port) == ("gemini", 9999)
    assert parse_args(["--wire", "anthropic", "--port", "0"], FakeSettings()).wire == "anthropic"
    with pytest.raises(SystemExit):
        parse_args(["--wire", "sagemaker"], FakeSettings())


async def test_vertex_trusts_the_service_account_key_it_is_given(tmp_path: Path) -> None:
    key = new_service_account_key("cli-project", "http://127.0.0.1/token")
    key_file = tmp_path / "key.json"
    key_file.write_text(json.dumps(key))
    fake = build(parse_args(["--wire", "vertex", "--service-account-key", str(key_file)], FakeSettings()))
    await fake.start("127.0.0.1", 0)
    model = f"{fake.admin_url}/v1/publishers/google/models/gemini-2.5-flash"
    try:
        info = {**key, "token_uri": f"{fake.admin_url}/token"}
        credentials = service_account.Credentials.from_service_account_info(info, scopes=[CLOUD_PLATFORM_SCOPE])
        await asyncio.to_thread(credentials.refresh, Request())
        async with httpx.AsyncClient() as http:
            entry = await http.get(model, headers={"authorization": f"Bearer {credentials.token}"})
            refused = await http.get(model)
    finally:
        await fake.close()
    assert entry.status_code == 200 and entry.json()["name"] == "publishers/google/models/gemini-2.5-flash"
    assert refused.status_code == 401 and refused.json()["error"]["status"] == "UNAUTHENTICATED"
