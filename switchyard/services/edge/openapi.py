"""The edge's OpenAPI 3.1 document (`GET /openapi.json`), maintained by hand beside the route table.

Every path the edge serves is listed with its methods; tests/unit/edge/test_openapi.py fails when a
route is added to the edge without being added here, or the other way round. The client APIs carry
their request and response shapes in outline (the vendors' own specs are the full reference);
operational and admin routes carry a summary.
"""

from __future__ import annotations

import functools
from typing import Any

import orjson

_ERROR = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "message": {"type": "string"},
                "type": {"type": "string"},
                "param": {"type": ["string", "null"]},
                "code": {"type": ["string", "null"]},
            },
            "required": ["message", "type"],
        }
    },
    "required": ["error"],
}

_EMBEDDING_REQUEST = {
    "type": "object",
    "required": ["model", "input"],
    "properties": {
        "model": {"type": "string"},
        "input": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
        "dimensions": {"type": "integer", "minimum": 1},
        "encoding_format": {"type": "string", "enum": ["float", "base64"]},
        "user": {"type": "string"},
    },
}

_COMPLETION_REQUEST = {
    "type": "object",
    "required": ["model", "prompt"],
    "properties": {
        "model": {"type": "string"},
        "prompt": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "maxItems": 1}]},
        "max_tokens": {"type": "integer", "default": 16},
        "stream": {"type": "boolean"},
    },
}

_RESPONSES_REQUEST = {
    "type": "object",
    "required": ["model", "input"],
    "properties": {
        "model": {"type": "string"},
        "input": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "object"}}]},
        "instructions": {"type": "string"},
        "tools": {"type": "array", "items": {"type": "object"}},
        "tool_choice": {"oneOf": [{"type": "string"}, {"type": "object"}]},
        "max_output_tokens": {"type": "integer", "minimum": 1},
        "temperature": {"type": "number"},
        "text": {"type": "object"},
        "store": {"type": "boolean", "default": True},
        "previous_response_id": {"type": "string"},
        "stream": {"type": "boolean"},
    },
}


def _json(schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema or {"type": "object"}}}}


def _op(
    summary: str, request: dict[str, Any] | None = None, *, stream: bool = False, ok: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Returns an operation: its summary, JSON body (when given), a JSON (or SSE) 200 (of schema `ok`, when
    given) and OpenAI errors."""
    reply = _json(ok)
    if stream:
        reply["content"]["text/event-stream"] = {"schema": {"type": "string"}}
    operation: dict[str, Any] = {
        "summary": summary,
        "responses": {"200": {"description": "OK", **reply}, "default": {"description": "Error", **_json(_ERROR)}},
    }
    if request is not None:
        operation["requestBody"] = {"required": True, **_json(request)}
    return operation


def _alias(of: str) -> str:
    return f"Alias of {of} (clients configured without the /v1 prefix)."


_MODEL_PARAM = [{"name": "model", "in": "path", "required": True, "schema": {"type": "string"}}]
_RESPONSE_PARAM = [{"name": "response_id", "in": "path", "required": True, "schema": {"type": "string"}}]
_PAGE_PARAMS = [
    *_RESPONSE_PARAM,
    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}},
    {"name": "order", "in": "query", "schema": {"type": "string", "enum": ["asc", "desc"], "default": "desc"}},
    {"name": "after", "in": "query", "schema": {"type": "string"}, "description": "List the items after this id."},
]
_ITEM_LIST = {
    "type": "object",
    "required": ["object", "data", "first_id", "last_id", "has_more"],
    "properties": {
        "object": {"const": "list"},
        "data": {"type": "array", "items": {"type": "object"}},
        "first_id": {"type": ["string", "null"]},
        "last_id": {"type": ["string", "null"]},
        "has_more": {"type": "boolean"},
    },
}
_NAME_PARAM = [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}]

PATHS: dict[str, dict[str, Any]] = {
    # The client APIs.
    "/v1/chat/completions": {"post": _op("OpenAI Chat Completions (JSON or SSE).", {"type": "object"}, stream=True)},
    "/chat/completions": {"post": _op(_alias("/v1/chat/completions"), {"type": "object"}, stream=True)},
    "/v1/completions": {
        "post": _op("OpenAI legacy Completions, served as a one-turn chat.", _COMPLETION_REQUEST, stream=True)
    },
    "/completions": {"post": _op(_alias("/v1/completions"), _COMPLETION_REQUEST, stream=True)},
    "/v1/embeddings": {"post": _op("OpenAI Embeddings (text inputs).", _EMBEDDING_REQUEST)},
    "/embeddings": {"post": _op(_alias("/v1/embeddings"), _EMBEDDING_REQUEST)},
    "/v1/responses": {
        "post": _op("OpenAI Responses (JSON or typed SSE events), served as chat.", _RESPONSES_REQUEST, stream=True)
    },
    "/responses": {"post": _op(_alias("/v1/responses"), _RESPONSES_REQUEST, stream=True)},
    "/v1/responses/{response_id}": {
        "get": _op("A stored response of the caller's key; 404 for another key's or an expired one."),
        "delete": _op("Delete a stored response."),
        "parameters": _RESPONSE_PARAM,
    },
    "/responses/{response_id}": {
        "get": _op(_alias("/v1/responses/{response_id}")),
        "delete": _op(_alias("/v1/responses/{response_id}")),
        "parameters": _RESPONSE_PARAM,
    },
    "/v1/responses/{response_id}/input_items": {
        "get": _op("A page of a stored response's input items (OpenAI's list shape).", ok=_ITEM_LIST),
        "parameters": _PAGE_PARAMS,
    },
    "/responses/{response_id}/input_items": {
        "get": _op(_alias("/v1/responses/{response_id}/input_items"), ok=_ITEM_LIST),
        "parameters": _PAGE_PARAMS,
    },
    "/v1/messages": {"post": _op("Anthropic Messages (JSON or SSE).", {"type": "object"}, stream=True)},
    "/v1/messages/count_tokens": {"post": _op("Anthropic token counting: {input_tokens}.", {"type": "object"})},
    "/v1/models": {"get": _op("The models the caller may use (OpenAI list of model objects).")},
    "/models": {"get": _op(_alias("/v1/models"))},
    "/v1/models/{model}": {"get": {**_op("One model object; 404 when unknown."), "parameters": _MODEL_PARAM}},
    "/models/{model}": {"get": {**_op(_alias("/v1/models/{model}")), "parameters": _MODEL_PARAM}},
    "/v1/feedback": {"post": _op("A score for an earlier request, by its request id.", {"type": "object"})},
    "/experiments/{name}/report": {"get": {**_op("An experiment's report."), "parameters": _NAME_PARAM}},
    "/quality": {"get": _op("Each deployment's judge and feedback scores by model version, and the experiments seen.")},
    # Operations.
    "/openapi.json": {"get": _op("This document.")},
    "/healthz": {"get": _op("Liveness: the edge answers.")},
    "/readyz": {"get": _op("Readiness: every service is serving (503 otherwise).")},
    "/metrics": {"get": {"summary": "Prometheus metrics.", "responses": {"200": {"description": "OK"}}}},
    "/dashboard": {"get": {"summary": "The spend dashboard.", "responses": {"200": {"description": "HTML"}}}},
    "/dashboard/": {"get": {"summary": "The spend dashboard.", "responses": {"200": {"description": "HTML"}}}},
    "/dashboard/quality": {"get": {"summary": "The quality dashboard.", "responses": {"200": {"description": "HTML"}}}},
    "/dashboard/common.js": {"get": {"summary": "Dashboard script.", "responses": {"200": {"description": "JS"}}}},
    "/dashboard/app.js": {"get": {"summary": "Dashboard script.", "responses": {"200": {"description": "JS"}}}},
    "/dashboard/quality.js": {"get": {"summary": "Dashboard script.", "responses": {"200": {"description": "JS"}}}},
    "/dashboard/style.css": {"get": {"summary": "Dashboard style.", "responses": {"200": {"description": "CSS"}}}},
    # LiteLLM's admin API (master key or an admin key).
    "/key/generate": {"post": _op("Create a virtual key.", {"type": "object"})},
    "/key/info": {"get": _op("A key's settings and spend."), "post": _op("A key's settings and spend.")},
    "/key/list": {"get": _op("The keys.")},
    "/key/delete": {"post": _op("Revoke keys.", {"type": "object"})},
    "/team/new": {"post": _op("Create a team.", {"type": "object"})},
    "/team/list": {"get": _op("The teams.")},
    "/spend/logs": {"get": _op("Ledger records.")},
    "/spend/logs.csv": {"get": {"summary": "Ledger records as CSV.", "responses": {"200": {"description": "CSV"}}}},
    "/spend/report": {"get": _op("Spend grouped by key, team or model.")},
    "/budget/list": {"get": _op("Budgets and what is left of them.")},
    "/cache/delete": {"post": _op("Delete cache entries.", {"type": "object"})},
    "/cache/flushall": {"post": _op("Empty the cache.", {"type": "object"})},
    "/cache/invalidate": {"post": _op("Invalidate cache entries by model group.", {"type": "object"})},
}

DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "Switchyard edge",
        "version": "1",
        "description": "OpenAI- and Anthropic-compatible HTTP API of the Switchyard gateway.",
    },
    "components": {
        "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"},
            "x-api-key": {"type": "apiKey", "in": "header", "name": "x-api-key"},
        }
    },
    "security": [{"bearer": []}, {"x-api-key": []}],
    "paths": PATHS,
}


@functools.cache
def document_bytes() -> bytes:
    """Returns the document as JSON (rendered once)."""
    return orjson.dumps(DOCUMENT)


def operations() -> set[tuple[str, str]]:
    """Returns every (METHOD, path template) the document describes."""
    return {(method.upper(), path) for path, item in PATHS.items() for method in item if method != "parameters"}
