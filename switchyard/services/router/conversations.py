"""Stored Responses API conversations (RouterService.SaveResponse / GetResponse / DeleteResponse).

The edge saves each stored response with the conversation that led to it, so a later request can name it
as `previous_response_id`; the router keeps it for `switchyard.responses.retention_s` under the key that
created it. A record is found only by the same key: another key's lookup misses as if there were none
(the edge answers 404), so a response id is no capability on its own.

    owner        the master key, a virtual key (by its stored token), or with auth off the hash of
                 whatever bearer was sent ("" for none)
    Redis        one string per response under <prefix>responses:<owner hash>:<id>, with the retention
                 as its expiry; while Redis is unreachable the router's local store answers (redisutil)
    in memory    at most `max_local` records, the oldest dropped first (the embedded default)

The record itself is the edge's (JSON): opaque here.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

import redis.asyncio as aioredis

from switchyard.common.v1 import errors_pb2 as E
from switchyard.config import Config
from switchyard.config.governance import token_of
from switchyard.config.responses import ResponsesSection
from switchyard.redisutil import RedisPolicy, Unreachable, new_client
from switchyard.router.v1 import router_pb2
from switchyard.runtime.errors import SwitchyardError
from switchyard.services.router.governance.governor import Governor, bearer

# An id longer than OpenAI's own (resp_ and 48 hex digits) by far is no response id.
MAX_ID_CHARS = 128


def not_found(response_id: str) -> SwitchyardError:
    """Returns OpenAI's 404 for a response that is not there (or not the caller's)."""
    return SwitchyardError(
        E.ERROR_REASON_INVALID_REQUEST, f"Response with id '{response_id[:MAX_ID_CHARS]}' not found.", http_status=404
    )


class ResponseStore(Protocol):
    """Records by (owner, response id), each kept for a number of seconds."""

    async def put(self, owner: str, response_id: str, record: bytes, ttl_s: int) -> None: ...
    async def get(self, owner: str, response_id: str) -> bytes | None: ...
    async def delete(self, owner: str, response_id: str) -> bool: ...
    async def close(self) -> None: ...


class MemoryResponses:
    """Records in this process, the oldest dropped first past `capacity`."""

    def __init__(self, capacity: Callable[[], int], clock: Callable[[], float] = time.monotonic) -> None:
        self._capacity, self._clock = capacity, clock
        self._records: OrderedDict[tuple[str, str], tuple[float, bytes]] = OrderedDict()

    async def put(self, owner: str, response_id: str, record: bytes, ttl_s: int) -> None:
        self._records[(owner, response_id)] = (self._clock() + ttl_s, record)
        self._records.move_to_end((owner, response_id))
        while len(self._records) > self._capacity():
            self._records.popitem(last=False)

    async def get(self, owner: str, response_id: str) -> bytes | None:
        found = self._records.get((owner, response_id))
        if found is None:
            return None
        expires, record = found
        if expires <= self._clock():
            del self._records[(owner, response_id)]
            return None
        return record

    async def delete(self, owner: str, response_id: str) -> bool:
        return self._records.pop((owner, response_id), None) is not None

    async def close(self) -> None:
        self._records.clear()


class RedisResponses:
    """Records in Redis, shared by every router replica; the local store answers while Redis does not."""

    def __init__(self, client: aioredis.Redis, prefix: str, policy: RedisPolicy, local: MemoryResponses) -> None:
        self._client, self._prefix, self._policy, self._local = client, prefix, policy, local

    def _key(self, owner: str, response_id: str) -> str:
        return f"{self._prefix}responses:{hashlib.sha256(owner.encode()).hexdigest()[:32]}:{response_id}"

    async def put(self, owner: str, response_id: str, record: bytes, ttl_s: int) -> None:
        key = self._key(owner, response_id)
        try:
            await self._policy.call(lambda: self._client.set(key, record, ex=ttl_s))
        except Unreachable:
            await self._local.put(owner, response_id, record, ttl_s)

    async def get(self, owner: str, response_id: str) -> bytes | None:
        key = self._key(owner, response_id)
        try:
            found = await self._policy.call(lambda: self._client.get(key))
        except Unreachable:
            return await self._local.get(owner, response_id)
        return found if isinstance(found, bytes) else await self._local.get(owner, response_id)

    async def delete(self, owner: str, response_id: str) -> bool:
        key = self._key(owner, response_id)
        local = await self._local.delete(owner, response_id)
        try:
            removed = await self._policy.call(lambda: self._client.delete(key))
        except Unreachable:
            return local
        return bool(removed) or local

    async def close(self) -> None:
        await self._policy.close()
        await self._client.aclose()


def open_responses(
    config: Callable[[], Config], state_url: str, prefix: str, timeout_s: float, retry_s: float = 1.0
) -> ResponseStore:
    """Returns the response store: in Redis at state_url when one is configured, else in memory."""
    local = MemoryResponses(lambda: config().switchyard.responses.max_local)
    if not state_url:
        return local
    client = new_client(state_url, timeout_s)
    policy = RedisPolicy(
        client,
        "stored responses",
        timeout_s=timeout_s,
        retry_s=retry_s,
        local="keeping new responses in this router",
        shared="back on Redis",
    )
    return RedisResponses(client, prefix, policy, local)


class Conversations:
    """Answers the stored-response RPCs under the caller's key."""

    def __init__(self, store: ResponseStore, governor: Governor, settings: Callable[[], ResponsesSection]) -> None:
        self._store, self._governor, self._settings = store, governor, settings

    async def _owner(self, authorization: str) -> str:
        """Returns whose records the caller reaches; raises 401 for a bad key when auth is on."""
        identity = await self._governor.authenticate(authorization)
        if identity is None:
            secret = bearer(authorization)
            return f"anonymous:{token_of(secret)}" if secret else "anonymous"
        return "master" if identity.key is None else f"key:{identity.key.token}"

    @staticmethod
    def _checked(response_id: str) -> str:
        if not response_id or len(response_id) > MAX_ID_CHARS:
            raise not_found(response_id)
        return response_id

    async def save(
        self, request: router_pb2.SaveResponseRequest, authorization: str
    ) -> router_pb2.SaveResponseResponse:
        """Keeps the record for the retention window; returns the window."""
        owner = await self._owner(authorization)
        retention = self._settings().retention_s
        await self._store.put(owner, self._checked(request.id), request.state, retention)
        return router_pb2.SaveResponseResponse(retention_seconds=retention)

    async def get(self, request: router_pb2.GetResponseRequest, authorization: str) -> router_pb2.GetResponseResponse:
        """Returns the caller's record; raises the 404 when there is none."""
        owner = await self._owner(authorization)
        record = await self._store.get(owner, self._checked(request.id))
        if record is None:
            raise not_found(request.id)
        return router_pb2.GetResponseResponse(state=record)

    async def delete(
        self, request: router_pb2.DeleteResponseRequest, authorization: str
    ) -> router_pb2.DeleteResponseResponse:
        """Forgets the caller's record; raises the 404 when there is none."""
        owner = await self._owner(authorization)
        if not await self._store.delete(owner, self._checked(request.id)):
            raise not_found(request.id)
        return router_pb2.DeleteResponseResponse(id=request.id)
