"""The edge's smaller client APIs: embeddings, one model's card, Anthropic's token count, the OpenAPI document.

    POST /v1/embeddings                 → RouterService.Embed (keys, budgets, ledger, like chat)
    GET  /v1/models/{id}                → RouterService.ListModels, filtered (404 in OpenAI's format)
    POST /v1/messages/count_tokens      → RouterService.CountTokens (the classifier's estimate)
    GET  /openapi.json                  → switchyard.services.edge.openapi.DOCUMENT

Each handler validates, calls the router, renders JSON and maps errors, as the chat routes do.
"""

from __future__ import annotations

import time
from typing import Any

import grpc
import orjson
from grpc import aio

from switchyard.common.v1 import errors_pb2
from switchyard.router.v1 import router_pb2, router_pb2_grpc
from switchyard.runtime.errors import SwitchyardError, from_rpc_error
from switchyard.services.edge import anthropic, openapi
from switchyard.services.edge.asgi import JSON, Receive, Send, json_reply, parse_json, read_body, respond
from switchyard.services.edge.guards import check_json_content_type
from switchyard.services.edge.route_header import route_header
from switchyard.services.edge.translate import (
    credentials,
    error_response,
    request_context,
    request_id_of,
    route_headers,
)
from switchyard.wire.openai.embeddings import embeddings_to_wire, parse_embedding_request

EMBEDDINGS_PATHS = frozenset({"/v1/embeddings", "/embeddings"})
MODEL_PREFIXES = ("/v1/models/", "/models/")
COUNT_TOKENS_PATH = "/v1/messages/count_tokens"
OPENAPI_PATH = "/openapi.json"
# What these routes serve, as (METHOD, path template).
OPERATIONS = frozenset(
    {
        *(("POST", path) for path in EMBEDDINGS_PATHS),
        *(("GET", f"{prefix}{{model}}") for prefix in MODEL_PREFIXES),
        ("POST", COUNT_TOKENS_PATH),
        ("GET", OPENAPI_PATH),
    }
)
# Anthropic's token counts are calibrated for its tokenizer (the classifier's tokens_by_family).
ANTHROPIC_FAMILY = "anthropic"
_LOOKUP_TIMEOUT_S = 5.0


def model_id(path: str) -> str | None:
    """Returns the model a /v1/models/{id} path names (ids may hold slashes), None for any other path."""
    for prefix in MODEL_PREFIXES:
        if path.startswith(prefix) and len(path) > len(prefix):
            return path[len(prefix) :]
    return None


def _method_error(method: str) -> SwitchyardError:
    return SwitchyardError(errors_pb2.ERROR_REASON_INVALID_REQUEST, f"Use {method}.", http_status=405)


class ExtraRoutes:
    """Serves the routes this module's docstring lists."""

    def __init__(self, router: aio.Channel, max_body_bytes: int, body_timeout: float, timeout: float) -> None:
        self._stub = router_pb2_grpc.RouterServiceStub(router)
        self._max_body, self._body_timeout, self._timeout = max_body_bytes, body_timeout, timeout

    @staticmethod
    def handles(path: str) -> bool:
        """Says whether path is one of these routes."""
        return path in EMBEDDINGS_PATHS or path in (COUNT_TOKENS_PATH, OPENAPI_PATH) or model_id(path) is not None

    @staticmethod
    def route_of(path: str) -> str:
        """Returns the route a path is counted under in the metrics."""
        return "/v1/models/{model}" if model_id(path) is not None else path

    async def __call__(self, path: str, method: str, receive: Receive, send: Send, headers: dict[str, str]) -> None:
        request_id = request_id_of(headers)
        anthropic_route = path == COUNT_TOKENS_PATH
        try:
            if path == OPENAPI_PATH:
                if method != "GET":
                    raise _method_error("GET")
                await respond(send, 200, [JSON], openapi.document_bytes())
            elif path in EMBEDDINGS_PATHS:
                await self._embeddings(method, receive, send, headers)
            elif anthropic_route:
                await self._count_tokens(method, receive, send, headers)
            else:
                await self._model(method, model_id(path) or "", send, headers)
        except SwitchyardError as err:
            reply = anthropic.error_reply if anthropic_route else error_response
            await respond(send, *reply(err, request_id))
        except grpc.RpcError as rpc_error:
            reply = anthropic.error_reply if anthropic_route else error_response
            await respond(send, *reply(from_rpc_error(rpc_error), request_id))

    async def _json_body(self, method: str, receive: Receive, headers: dict[str, str]) -> Any:
        if method != "POST":
            raise _method_error("POST")
        check_json_content_type(headers)
        return parse_json(await read_body(receive, headers, self._max_body, self._body_timeout))

    async def _embeddings(self, method: str, receive: Receive, send: Send, headers: dict[str, str]) -> None:
        """Answers OpenAI's embeddings API; vectors are encoded here (float or base64)."""
        context, metadata = request_context(headers), credentials(headers)
        request, encoding = parse_embedding_request(await self._json_body(method, receive, headers))
        reply = await self._stub.Embed(
            router_pb2.EmbedRequest(request=request, context=context), timeout=self._timeout, metadata=metadata
        )
        body = orjson.dumps(embeddings_to_wire(reply.embeddings, request.model, encoding))
        out = [JSON, *route_headers(context.request_id, reply.route), route_header(reply.route)]
        await respond(send, 200, out, body)

    async def _count_tokens(self, method: str, receive: Receive, send: Send, headers: dict[str, str]) -> None:
        """Answers Anthropic's count_tokens: the prompt a Messages request would send, counted."""
        payload = await self._json_body(method, receive, headers)
        if isinstance(payload, dict) and payload.get("max_tokens") is None:
            payload = {**payload, "max_tokens": 1}  # count_tokens takes no max_tokens; Messages requires one
        chat = anthropic.parse_request(payload, headers)
        count = await self._stub.CountTokens(
            router_pb2.CountTokensRequest(request=chat, context=anthropic.context(headers), family=ANTHROPIC_FAMILY),
            timeout=_LOOKUP_TIMEOUT_S,
            metadata=credentials(headers),
        )
        await json_reply(send, 200, {"input_tokens": count.input_tokens})

    async def _model(self, method: str, name: str, send: Send, headers: dict[str, str]) -> None:
        """Answers OpenAI's model retrieval for a name the caller may use; any other name is a 404."""
        if method != "GET":
            raise _method_error("GET")
        listing = await self._stub.ListModels(
            router_pb2.ListModelsRequest(), timeout=_LOOKUP_TIMEOUT_S, metadata=credentials(headers)
        )
        card = next((m for m in listing.models if m.id == name), None)
        if card is None:
            raise SwitchyardError(
                errors_pb2.ERROR_REASON_MODEL_NOT_FOUND, f"The model '{name}' does not exist.", param="model"
            )
        created = card.created or int(time.time())
        await json_reply(send, 200, {"id": card.id, "object": "model", "created": created, "owned_by": card.owned_by})
