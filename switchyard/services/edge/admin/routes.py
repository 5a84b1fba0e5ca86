"""The admin HTTP routes: each path maps onto one AdminService RPC with the caller's credentials.

The edge checks nothing itself: it validates the body, forwards the `Authorization` header (or
`x-api-key`) as gRPC metadata, and the router decides (the master key is required). Errors come
back as OpenAI error JSON with the taxonomy's status: 401 without the master key, 403, 400, ...
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import grpc
import orjson
from grpc import aio

from switchyard.common.v1 import errors_pb2
from switchyard.router.v1 import admin_pb2, admin_pb2_grpc
from switchyard.runtime.errors import SwitchyardError, from_rpc_error, internal_error
from switchyard.services.edge.admin import fields, keys, spend
from switchyard.services.edge.admin.fields import invalid
from switchyard.services.edge.asgi import JSON, Headers, Receive, Scope, Send, read_body, respond
from switchyard.services.edge.translate import credentials, error_response

ADMIN_TIMEOUT_S = 10.0
_CSV = (b"content-type", b"text/csv; charset=utf-8")


@dataclass(frozen=True)
class Raw:
    """A reply that is not JSON: its content type and bytes."""

    headers: Headers
    body: bytes


@dataclass(frozen=True)
class Call:
    """One admin request: its query, a reader of its JSON body, and the credentials to forward."""

    query: dict[str, str]
    metadata: tuple[tuple[str, str], ...]
    body: Callable[[], Awaitable[dict[str, Any]]]


Handler = Callable[[Call], Awaitable[Any]]


class AdminRoutes:
    """LiteLLM's key, team, spend and cache paths (and Switchyard's /spend/report, /budget/list)."""

    def __init__(self, router: aio.Channel, max_body_bytes: int) -> None:
        self._stub = admin_pb2_grpc.AdminServiceStub(router)
        self._max_body = max_body_bytes
        self._routes: dict[str, tuple[str, Handler]] = {
            "/key/generate": ("POST", self._key_generate),
            "/key/info": ("GET", self._key_info),
            "/key/list": ("GET", self._key_list),
            "/key/delete": ("POST", self._key_delete),
            "/team/new": ("POST", self._team_new),
            "/team/list": ("GET", self._team_list),
            "/spend/logs": ("GET", self._spend_logs),
            "/spend/logs.csv": ("GET", self._spend_logs_csv),
            "/spend/report": ("GET", self._spend_report),
            "/budget/list": ("GET", self._budget_list),
            "/cache/delete": ("POST", self._cache_delete),
            "/cache/flushall": ("POST", self._cache_flushall),
            "/cache/invalidate": ("POST", self._cache_invalidate),
        }

    def handles(self, path: str) -> bool:
        """Says whether path is an admin route."""
        return path in self._routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send, headers: dict[str, str]) -> None:
        """Serves one admin request; every failure is an OpenAI error body, never a stack trace."""
        method, handler = self._routes[scope["path"]]
        request_id = headers.get("x-request-id", "")
        try:
            if scope["method"] != method:
                raise SwitchyardError(errors_pb2.ERROR_REASON_INVALID_REQUEST, f"Use {method}.", http_status=405)

            async def body() -> dict[str, Any]:
                return fields.json_object(await read_body(receive, headers, self._max_body))

            query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
            reply = await handler(Call(query, credentials(headers), body))
        except SwitchyardError as err:
            await respond(send, *error_response(err, request_id))
            return
        except grpc.RpcError as rpc_error:
            await respond(send, *error_response(from_rpc_error(rpc_error), request_id))
            return
        except Exception as exc:
            await respond(send, *error_response(internal_error(exc, "edge"), request_id))
            return
        if isinstance(reply, Raw):
            await respond(send, 200, reply.headers, reply.body)
        else:
            await respond(send, 200, [JSON], orjson.dumps(reply))

    # ------------------------------------------------------------------ keys and teams

    async def _key_generate(self, call: Call) -> Any:
        reply = await self._stub.GenerateKey(
            keys.generate_request(await call.body()), metadata=call.metadata, timeout=ADMIN_TIMEOUT_S
        )
        return {"key": reply.key, **keys.key_json(reply.info)}

    async def _key_info(self, call: Call) -> Any:
        key = call.query.get("key", "")
        if not key:
            raise invalid("key", "the query parameter is required (the key or its token).")
        reply = await self._stub.GetKeyInfo(
            admin_pb2.GetKeyInfoRequest(key=key), metadata=call.metadata, timeout=ADMIN_TIMEOUT_S
        )
        return {"key": key, "info": keys.key_json(reply.info)}

    async def _key_list(self, call: Call) -> Any:
        reply = await self._stub.ListKeys(
            admin_pb2.ListKeysRequest(team_id=call.query.get("team_id", "")),
            metadata=call.metadata,
            timeout=ADMIN_TIMEOUT_S,
        )
        full = call.query.get("return_full_object", "").lower() == "true"
        listed = [keys.key_json(k) if full else k.token for k in reply.keys]
        return {"keys": listed, "total_count": len(listed), "current_page": 1, "total_pages": 1}

    async def _key_delete(self, call: Call) -> Any:
        body = await call.body()
        keys.check_fields(body, frozenset({"keys"}))
        named = fields.string_list(body, "keys")
        if not named:
            raise invalid("keys", "name at least one key (its secret or its token).")
        reply = await self._stub.DeleteKeys(
            admin_pb2.DeleteKeysRequest(keys=named), metadata=call.metadata, timeout=ADMIN_TIMEOUT_S
        )
        return {"deleted_keys": list(reply.deleted_keys)}

    async def _team_new(self, call: Call) -> Any:
        reply = await self._stub.NewTeam(
            keys.team_request(await call.body()), metadata=call.metadata, timeout=ADMIN_TIMEOUT_S
        )
        return keys.team_json(reply.team)

    async def _team_list(self, call: Call) -> Any:
        reply = await self._stub.ListTeams(
            admin_pb2.ListTeamsRequest(), metadata=call.metadata, timeout=ADMIN_TIMEOUT_S
        )
        return [keys.team_json(t) for t in reply.teams]

    # ------------------------------------------------------------------ ledger

    async def _logs(self, call: Call) -> list[dict[str, Any]]:
        reply = await self._stub.GetSpendLogs(
            spend.logs_request(call.query), metadata=call.metadata, timeout=ADMIN_TIMEOUT_S
        )
        return [spend.log_json(r) for r in reply.records]

    async def _spend_logs(self, call: Call) -> Any:
        fmt = call.query.get("format", "json")
        if fmt not in ("json", "csv"):
            raise invalid("format", 'expected "json" or "csv".')
        return await (self._spend_logs_csv(call) if fmt == "csv" else self._logs(call))

    async def _spend_logs_csv(self, call: Call) -> Any:
        disposition = (b"content-disposition", b'attachment; filename="spend-logs.csv"')
        return Raw([_CSV, disposition], spend.logs_csv(await self._logs(call)))

    async def _spend_report(self, call: Call) -> Any:
        request = spend.report_request(call.query)
        reply = await self._stub.GetSpendReport(request, metadata=call.metadata, timeout=ADMIN_TIMEOUT_S)
        return [spend.report_json(request.group_by, row) for row in reply.rows]

    async def _budget_list(self, call: Call) -> Any:
        reply = await self._stub.GetBudgets(
            admin_pb2.GetBudgetsRequest(), metadata=call.metadata, timeout=ADMIN_TIMEOUT_S
        )
        return [spend.budget_json(b) for b in reply.budgets]

    # ------------------------------------------------------------------ cache

    async def _invalidate(self, call: Call, request: admin_pb2.InvalidateCacheRequest) -> int:
        reply = await self._stub.InvalidateCache(request, metadata=call.metadata, timeout=ADMIN_TIMEOUT_S)
        return int(reply.removed)

    async def _cache_delete(self, call: Call) -> Any:
        body = await call.body()
        keys.check_fields(body, frozenset({"keys"}))
        named = fields.string_list(body, "keys")
        if not named:
            raise invalid("keys", "name at least one cache key.")
        removed = 0
        for key in named:
            removed += await self._invalidate(call, admin_pb2.InvalidateCacheRequest(key=key))
        return {"status": "success", "removed": removed}

    async def _cache_flushall(self, call: Call) -> Any:
        removed = await self._invalidate(call, admin_pb2.InvalidateCacheRequest(all=True))
        return {"status": "success", "removed": removed}

    async def _cache_invalidate(self, call: Call) -> Any:
        body = await call.body()
        selectors = ("key", "tenant", "model_group", "all")
        keys.check_fields(body, frozenset(selectors))
        given = [name for name in selectors if body.get(name) not in (None, "", False)]
        if len(given) != 1:
            raise invalid("key", "give exactly one of key, tenant, model_group or all: true.")
        name = given[0]
        if name == "all":
            if body["all"] is not True:
                raise invalid("all", "expected true.")
            request = admin_pb2.InvalidateCacheRequest(all=True)
        else:
            request = admin_pb2.InvalidateCacheRequest()
            setattr(request, name, fields.string(body, name))
        return {"status": "success", "removed": await self._invalidate(call, request)}
