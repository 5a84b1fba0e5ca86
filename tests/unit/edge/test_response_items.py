"""A response's input items as `GET /v1/responses/{id}/input_items` lists them: the items' shapes (checked
against the official SDK's types) and the pages `limit`, `order` and `after` ask for."""

from __future__ import annotations

from typing import Any

import pytest
from openai.pagination import SyncCursorPage
from openai.types.responses import ResponseItem
from pydantic import TypeAdapter

from switchyard.runtime.errors import SwitchyardError
from switchyard.services.edge.responses.items import input_items, page, page_query

PAGE = TypeAdapter(SyncCursorPage[ResponseItem])  # type: ignore[misc]
ITEMS: list[Any] = [
    {"role": "developer", "content": "Be brief."},
    {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Weather in Oslo?"}]},
    {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": "{}", "id": "fc_given"},
    {"type": "function_call_output", "call_id": "call_1", "output": "cold"},
    {"role": "assistant", "content": "It is cold."},
]


def test_every_item_gets_an_id_a_status_and_content_parts() -> None:
    items = input_items(ITEMS)
    assert [item["id"][:3] for item in items] == ["msg", "msg", "fc_", "fco", "msg"]
    assert items[2]["id"] == "fc_given", "an id the client sent is kept"
    assert {item["status"] for item in items} == {"completed"}
    assert items[0]["content"] == [{"type": "input_text", "text": "Be brief."}]
    assert items[4]["content"][0]["type"] == "output_text"
    parsed = PAGE.validate_python(page(items, page_query(b"order=asc")))
    kinds = [item.type for item in parsed.data]
    assert kinds == ["message", "message", "function_call", "function_call_output", "message"]


def test_a_string_input_is_one_user_message() -> None:
    [item] = input_items("Hello")
    assert item["role"] == "user" and item["content"] == [{"type": "input_text", "text": "Hello"}]


def test_pages_run_newest_first_and_resume_after_an_id() -> None:
    items = input_items(ITEMS)
    ids = [item["id"] for item in items]
    first = page(items, page_query(b"limit=2"))
    assert [item["id"] for item in first["data"]] == ids[:-3:-1] and first["has_more"]
    assert (first["first_id"], first["last_id"]) == (ids[4], ids[3])
    rest = page(items, page_query(b"limit=2&after=" + first["last_id"].encode()))
    assert [item["id"] for item in rest["data"]] == [ids[2], ids[1]] and rest["has_more"]
    last = page(items, page_query(b"limit=5&order=asc&after=" + ids[3].encode()))
    assert [item["id"] for item in last["data"]] == [ids[4]] and not last["has_more"]


@pytest.mark.parametrize(
    ("query", "param"),
    [(b"limit=0", "limit"), (b"limit=101", "limit"), (b"limit=x", "limit"), (b"order=up", "order")],
)
def test_bad_page_parameters_name_the_parameter(query: bytes, param: str) -> None:
    with pytest.raises(SwitchyardError) as caught:
        page_query(query)
    assert caught.value.param == param


def test_an_after_that_is_not_in_the_list_is_refused() -> None:
    with pytest.raises(SwitchyardError) as caught:
        page(input_items("Hi"), page_query(b"after=msg_elsewhere"))
    assert caught.value.param == "after"
