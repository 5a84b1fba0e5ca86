"""The Responses API routes, over the router's RPCs (keys, budgets, routing, failover, cache, ledger, traces):

    POST   /v1/responses          → RouterService.ChatCompletion / StreamChatCompletion, then SaveResponse
                                    (unless store is false); previous_response_id → GetResponse first
    GET    /v1/responses/{id}     → RouterService.GetResponse (404 for another key's, or an expired, id)
    DELETE /v1/responses/{id}     → RouterService.DeleteResponse
    GET    /v1/responses/{id}/input_items → RouterService.GetResponse, then a page of its input items (`items`)

What the router keeps of a response is this module's record, as JSON: the response object, and the
conversation as chat messages (instructions excluded, as OpenAI does) so the next turn can go on from it,
and the request's input items. A streamed response is saved before its `response.completed` event, so a
client that chains at once finds it; one that fails after `response.created` ends with `response.failed`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import grpc
import orjson
from grpc import aio

from switchyard.common.v1 import context_pb2, errors_pb2
from switchyard.router.v1 import router_pb2, router_pb2_grpc
from switchyard.runtime.errors import SwitchyardError, from_rpc_error
from switchyard.services.edge.asgi import (
    JSON,
    SSE,
    Receive,
    Send,
    cancel_on_disconnect,
    json_reply,
    parse_json,
    read_body,
    respond,
    send_events,
)
from switchyard.services.edge.guards import check_json_content_type
from switchyard.services.edge.responses.events import ResponseEvents
from switchyard.services.edge.responses.items import input_items, page, page_query
from switchyard.services.edge.responses.replies import (
    RESPONSE_OBJECT,
    assistant_message,
    completed_response,
    new_id,
)
from switchyard.services.edge.responses.requests import ResponsesRequest, parse_responses_request, previous_id
from switchyard.services.edge.route_header import route_header
from switchyard.services.edge.translate import (
    credentials,
    error_response,
    request_context,
    request_id_of,
    route_headers,
)
from switchyard.wire.openai import chunk_to_wire, completion_to_wire

log = logging.getLogger(__name__)

PATHS = frozenset({"/v1/responses", "/responses"})
ITEM_PREFIXES = ("/v1/responses/", "/responses/")
INPUT_ITEMS = "/input_items"
OPERATIONS = frozenset(
    {
        *(("POST", path) for path in PATHS),
        *((method, f"{prefix}{{response_id}}") for prefix in ITEM_PREFIXES for method in ("GET", "DELETE")),
        *(("GET", f"{prefix}{{response_id}}{INPUT_ITEMS}") for prefix in ITEM_PREFIXES),
    }
)
_LOOKUP_TIMEOUT_S = 5.0
Metadata = tuple[tuple[str, str], ...]


def response_id_of(path: str) -> str | None:
    """Returns the id a /v1/responses/{id} path names, None for any other path."""
    for prefix in ITEM_PREFIXES:
        if path.startswith(prefix) and len(path) > len(prefix) and "/" not in path[len(prefix) :]:
            return path[len(prefix) :]
    return None


def input_items_id_of(path: str) -> str | None:
    """Returns the id a /v1/responses/{id}/input_items path names, None for any other path."""
    if not path.endswith(INPUT_ITEMS):
        return None
    return response_id_of(path.removesuffix(INPUT_ITEMS))


def _method_error(allowed: str) -> SwitchyardError:
    return SwitchyardError(errors_pb2.ERROR_REASON_INVALID_REQUEST, f"Use {allowed}.", http_status=405)


class ResponsesRoutes:
    """Serves the routes this module's docstring lists."""

    def __init__(self, router: aio.Channel, max_body_bytes: int, body_timeout: float, timeout: float) -> None:
        self._stub = router_pb2_grpc.RouterServiceStub(router)
        self._max_body, self._body_timeout, self._timeout = max_body_bytes, body_timeout, timeout

    @staticmethod
    def handles(path: str) -> bool:
        """Says whether path is one of these routes."""
        return path in PATHS or response_id_of(path) is not None or input_items_id_of(path) is not None

    @staticmethod
    def route_of(path: str) -> str:
        """Returns the route a path is counted under in the metrics."""
        if input_items_id_of(path) is not None:
            return "/v1/responses/{response_id}/input_items"
        return "/v1/responses/{response_id}" if response_id_of(path) is not None else "/v1/responses"

    async def __call__(
        self, path: str, method: str, receive: Receive, send: Send, headers: dict[str, str], *, query: bytes = b""
    ) -> None:
        request_id = request_id_of(headers)
        response_id = response_id_of(path)
        try:
            if (listed := input_items_id_of(path)) is not None:
                if method != "GET":
                    raise _method_error("GET")
                await self._input_items(listed, query, send, credentials(headers))
            elif response_id is None:
                if method != "POST":
                    raise _method_error("POST")
                await self._create(receive, send, headers)
            elif method == "GET":
                record = await self._record(response_id, credentials(headers))
                await json_reply(send, 200, record["response"])
            elif method == "DELETE":
                deleted = router_pb2.DeleteResponseRequest(id=response_id)
                await self._stub.DeleteResponse(deleted, timeout=_LOOKUP_TIMEOUT_S, metadata=credentials(headers))
                await json_reply(send, 200, {"id": response_id, "object": RESPONSE_OBJECT, "deleted": True})
            else:
                raise _method_error("GET or DELETE")
        except SwitchyardError as err:
            await respond(send, *error_response(err, request_id))
        except grpc.RpcError as rpc_error:
            if rpc_error.code() != grpc.StatusCode.CANCELLED:
                await respond(send, *error_response(from_rpc_error(rpc_error), request_id))

    async def _record(self, response_id: str, metadata: Metadata) -> dict[str, Any]:
        """Returns the kept record of a response of the caller's key; raises the router's 404 when none."""
        kept = await self._stub.GetResponse(
            router_pb2.GetResponseRequest(id=response_id), timeout=_LOOKUP_TIMEOUT_S, metadata=metadata
        )
        record: dict[str, Any] = orjson.loads(kept.state)
        return record

    async def _input_items(self, response_id: str, query: bytes, send: Send, metadata: Metadata) -> None:
        """Sends one page of a kept response's input items."""
        wanted = page_query(query)
        record = await self._record(response_id, metadata)
        await json_reply(send, 200, page(record.get("input_items", []), wanted))

    async def _keep(self, response: dict[str, Any], request: ResponsesRequest, metadata: Metadata) -> None:
        """Saves the response and its conversation when the request asked for it (store, the default)."""
        if not request.store:
            return
        messages = [*request.messages, assistant_message(response["output"])]
        state = orjson.dumps({"response": response, "messages": messages, "input_items": request.input_items})
        saved = router_pb2.SaveResponseRequest(id=response["id"], state=state)
        try:
            await self._stub.SaveResponse(saved, timeout=_LOOKUP_TIMEOUT_S, metadata=metadata)
        except grpc.RpcError as rpc_error:
            # The answer is paid for and is sent; only chaining from it will not work.
            log.warning("response %s could not be stored: %s", response["id"], from_rpc_error(rpc_error).message)

    async def _create(self, receive: Receive, send: Send, headers: dict[str, str]) -> None:
        check_json_content_type(headers)
        context, metadata = request_context(headers), credentials(headers)
        payload = parse_json(await read_body(receive, headers, self._max_body, self._body_timeout))
        previous = previous_id(payload)
        history = (await self._record(previous, metadata))["messages"] if previous else []
        request = parse_responses_request(payload, history)
        request.input_items = input_items(payload["input"])
        response_id = new_id("resp")
        if request.chat.stream:
            await self._stream(receive, send, request, context=context, metadata=metadata, response_id=response_id)
            return
        call = self._stub.ChatCompletion(
            router_pb2.ChatCompletionRequest(request=request.chat, context=context),
            timeout=self._timeout,
            metadata=metadata,
        )
        watcher = asyncio.create_task(cancel_on_disconnect(receive, call))
        try:
            reply = await call
        finally:
            watcher.cancel()
        response = completed_response(response_id, request, completion_to_wire(reply.completion))
        await self._keep(response, request, metadata)
        out = [JSON, *route_headers(context.request_id, reply.route), route_header(reply.route)]
        await respond(send, 200, out, orjson.dumps(response))

    async def _stream(
        self,
        receive: Receive,
        send: Send,
        request: ResponsesRequest,
        *,
        context: context_pb2.RequestContext,
        metadata: Metadata,
        response_id: str,
    ) -> None:
        """Streams the typed events; an error before the first chunk is a plain HTTP error, after it
        `response.failed`."""
        call = self._stub.StreamChatCompletion(
            router_pb2.StreamChatCompletionRequest(request=request.chat, context=context),
            timeout=self._timeout,
            metadata=metadata,
        )
        watcher = asyncio.create_task(cancel_on_disconnect(receive, call))
        events = ResponseEvents(response_id, request, request.chat.model)
        started = False
        try:
            async for message in call:
                if not started:
                    started = True
                    route = [*route_headers(context.request_id, message.route), route_header(message.route)]
                    await send({"type": "http.response.start", "status": 200, "headers": [*SSE, *route]})
                    await send_events(send, events.begin())
                for chunk in message.chunks:
                    await send_events(send, events.chunk(chunk_to_wire(chunk, True)))
        except grpc.RpcError as rpc_error:
            if not started or (rpc_error.code() == grpc.StatusCode.CANCELLED and watcher.done()):
                raise
            await send({"type": "http.response.body", "body": events.fail(from_rpc_error(rpc_error))})
            return
        finally:
            watcher.cancel()
        if not started:
            await send({"type": "http.response.start", "status": 200, "headers": SSE})
            await send_events(send, events.begin())
        closing, response = events.finish()
        await send_events(send, closing)
        await self._keep(response, request, metadata)
        await send({"type": "http.response.body", "body": events.completed(response)})
