"""The fakes' one command line: `--wire` (or SWITCHYARD_FAKE_WIRE) picks the vendor API the fake speaks."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from switchyard.fakes.__main__ import build, parse_args
from switchyard.fakes.config import FakeSettings


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
        parse_args(["--wire", "bedrock"], FakeSettings())
