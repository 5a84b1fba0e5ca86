"""The admin HTTP routes: each path maps onto one AdminService RPC with the caller's credentials.

The edge checks nothing itself: it validates the body, forwards the `Authorization` header (or
`x-api-key`) as gRPC metadata, and the router decides (the master key is required). Errors come
back as OpenAI error JSON with the taxonomy's status: 401 without the master key, 403, 400, ...

Every string a body or query carries is bounded (fields.MAX_STRING), a POST body must be JSON (415),
and a key's secret never travels in a URL: /key/info takes it in its POST body or the
`x-switchyard-key` header, and refuses it in the query string.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import grpc
import orjson
from grpc import aio

from switchyard.common.v1 import errors_pb2
from switchyard.router.v1 import admin_pb2, admin_pb2_grpc
from switchyard.runtime.errors import SwitchyardError, from_rpc_error, internal_error
from switchyard.services.edge.admin import fields, keys, spend
from switchyard.services.edge.admin.fields import invalid
from switchyard.services.edge.asgi import JSON, Headers, Receive, Scope, Send, read_body, respond
from switchyard.services.edge.guards import check_json_content_type
from switchyard.services.edge.translate import credentials, error_response, request_id_of

ADMIN_TIMEOUT_S = 10.0
_CSV = (b"content-type", b"text/csv; charset=utf-8")
# The header /key/info reads a key from (a URL would leave it in access logs, proxies and histories).
KEY_HEADER = "x-switchyard-key"
# A key's token (SHA-256 hex of its secret) identifies it without being usable: it may be in a URL.
_TOKEN = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Raw:
    """A reply that is not JSON: its content type and bytes."""

    headers: Headers
    body: bytes


@dataclass(frozen=True)
class Call:
    """One admin request: its method, query, headers, a reader of its JSON body, and the credentials to forward."""

    method: str
    query: dict[str, str]
    headers: dict[str, str]
    metadata: tuple[tuple[str, str], ...]
    body: Callable[[], Awaitable[dict[str, Any]]]


Handler = Callable[[Call], Awaitable[Any]]


class AdminRoutes:
    """LiteLLM's key, team, spend and cache paths (and Switchyard's /spend/report, /budget/list)."""

    def __init__(self, router: aio.Channel, max_body_bytes: int, body_timeout: float | None = None) -> None:
        self._stub = admin_pb2_grpc.AdminServiceStub(router)
        self._max_body = max_body_bytes
        self._body_timeout = body_timeout
        self._routes: dict[str, tuple[tuple[str, ...], Handler]] = {
            "/key/generate": (("POST",), self._key_generate),
            "/key/info": (("GET", "POST"), self._key_info),
            "/key/list": (("GET",), self._key_list),
            "/key/delete": (("POST",), self._key_delete),
            "/team/new": (("POST",), self._team_new),
            "/team/list": (("GET",), self._team_list),
            "/spend/logs": (("GET",), self._spend_logs),
            "/spend/logs.csv": (("GET",), self._spend_logs_csv),
            "/spend/report": (("GET",), self._spend_report),
            "/budget/list": (("GET",), self._budget_list),
            "/cache/delete": (("POST",), self._cache_delete),
            "/cache/flushall": (("POST",), self._cache_flushall),
            "/cache/invalidate": (("POST",), self._cache_invalidate),
        }

    def operations(self) -> set[tuple[str, str]]:
        """Returns every (METHOD, path) the admin API serves."""
        return {(method, path) for path, (methods, _) in self._routes.items() for method in methods}

    def handles(self, path: str) -> bool:
        """Says whether path is an admin route."""
        return path in self._routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send, headers: dict[str, str]) -> None:
        """Serves one admin request; every failure is an OpenAI error body, never a stack trace."""
        methods, handler = self._routes[scope["path"]]
        request_id = request_id_of(headers)
        try:
            if scope["method"] not in methods:
                raise SwitchyardError(
                    errors_pb2.ERROR_REASON_INVALID_REQUEST, f"Use {' or '.join(methods)}.", http_status=405
                )
            if scope["method"] == "POST":
                check_json_content_type(headers)

            async def body() -> dict[str, Any]:
                return fields.json_object(await read_body(receive, headers, self._max_body, self._body_timeout))

            query = fields.query(scope.get("query_string", b"").decode("latin-1"))
            reply = await handler(Call(scope["method"], query, headers, credentials(headers), body))
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
        key = await _key_of(call)
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


async def _key_of(call: Call) -> str:
    """Returns the key /key/info asks about: its secret or token from the POST body or the x-switchyard-key
    header, or its token from the query string; a secret in the query string is a 400 that says why."""
    given = call.query.get("key", "")
    if given and not _TOKEN.fullmatch(given):
        raise invalid(
            "key",
            "a key's secret must not travel in the URL, which access logs, proxies and browser histories keep; "
            f'send it in the body of POST /key/info ({{"key": "..."}}) or in the {KEY_HEADER} header '
            "(a key's token may stay in the URL).",
        )
    if call.method == "POST":
        body = await call.body()
        keys.check_fields(body, frozenset({"key"}))
        given = fields.string(body, "key") or given
    given = given or call.headers.get(KEY_HEADER, "").strip()
    if not given:
        raise invalid("key", f'name the key: POST {{"key": "..."}}, the {KEY_HEADER} header, or ?key=<its token>.')
    return given
