"""A response's input items (`GET /v1/responses/{id}/input_items`): the request's `input` as OpenAI lists it.

    input: "text"             → one user `message` item with one `input_text` part
    input items               → each as sent, with an `id` (msg_/fc_/fco_ when it had none), a `status`
                                (completed), and a message's string content as one text part
    the page                  → {object: list, data, first_id, last_id, has_more}; `order` desc (the default,
                                newest first) or asc, `limit` 1..100 (20), `after` an item id of the list

Only the response's own input is listed: the turns of a `previous_response_id` chain are listed under the
responses that carried them, as OpenAI does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from switchyard.services.edge.responses.replies import new_id
from switchyard.services.edge.responses.requests import invalid

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
_ID_PREFIXES = {"message": "msg", "function_call": "fc", "function_call_output": "fco"}


def _message_content(role: str, content: Any) -> Any:
    if not isinstance(content, str):
        return content
    kind = "output_text" if role == "assistant" else "input_text"
    part: dict[str, Any] = {"type": kind, "text": content}
    if kind == "output_text":
        part["annotations"] = []
    return [part]


def _item(raw: Mapping[str, Any]) -> dict[str, Any]:
    kind = raw.get("type", "message")
    item: dict[str, Any] = {"type": kind, **raw}
    item.setdefault("id", new_id(_ID_PREFIXES.get(kind, "item")))
    item.setdefault("status", "completed")
    if kind == "message":
        item["content"] = _message_content(item.get("role", "user"), item.get("content"))
    return item


def input_items(value: Any) -> list[dict[str, Any]]:
    """Returns the items of a Responses `input` (a string or a list of items parse_responses_request took)."""
    if isinstance(value, str):
        return [_item({"role": "user", "content": value})]
    return [_item(raw) for raw in value]


@dataclass(frozen=True)
class PageQuery:
    """The pagination parameters of a list request."""

    limit: int = DEFAULT_LIMIT
    order: str = "desc"
    after: str | None = None


def page_query(query_string: bytes) -> PageQuery:
    """Returns the `limit`, `order` and `after` of a query string; raises INVALID_REQUEST naming the parameter."""
    params = dict(parse_qsl(query_string.decode("latin-1")))
    limit = params.get("limit", str(DEFAULT_LIMIT))
    if not limit.isdigit() or not 1 <= int(limit) <= MAX_LIMIT:
        raise invalid("limit", f"Invalid 'limit': expected an integer between 1 and {MAX_LIMIT}.")
    order = params.get("order", "desc")
    if order not in ("asc", "desc"):
        raise invalid("order", "Invalid 'order': expected 'asc' or 'desc'.")
    return PageQuery(int(limit), order, params.get("after") or None)


def page(items: list[dict[str, Any]], query: PageQuery) -> dict[str, Any]:
    """Returns one page of items in OpenAI's list shape; raises INVALID_REQUEST for an `after` not in the list."""
    ordered = items if query.order == "asc" else items[::-1]
    start = 0
    if query.after is not None:
        ids = [item["id"] for item in ordered]
        if query.after not in ids:
            raise invalid("after", f"Invalid 'after': no input item with id '{query.after}'.")
        start = ids.index(query.after) + 1
    data = ordered[start : start + query.limit]
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": start + query.limit < len(ordered),
    }
