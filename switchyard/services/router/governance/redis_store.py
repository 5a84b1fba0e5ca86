"""The governance store in Redis, shared by every router replica, with the in-memory twin as its fallback.

Each request costs one round trip (lua.ADMIT: revocation, rate windows and budgets at once) and one
more after the answer (lua.SETTLE, in the background, retried). Redis failures follow
switchyard.redisutil's policy: every call is bounded by timeout_s; a failure switches the store to
its twin (degraded, logged once), seeded with the spending last seen, until the policy's probe gets
an answer (every retry_s). Hard caps fail closed: a request with a hard-capped budget that cannot be
checked is refused ("unavailable"). Other requests are served by the twin meanwhile (rate limits
counted locally; a key's revocation cannot be checked, so keys known to this replica keep working).
Changes to keys and teams, and listings, need Redis: they fail with "service unavailable".
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import uuid
from collections.abc import Awaitable, Sequence
from typing import Any, cast

import redis.asyncio as aioredis

from switchyard.common.v1 import errors_pb2 as E
from switchyard.redisutil import Arg, Call, RedisPolicy, Scripts, Unreachable, new_client
from switchyard.runtime.errors import SwitchyardError
from switchyard.services.router.governance import lua
from switchyard.services.router.governance.memory import MemoryGovernance
from switchyard.services.router.governance.model import (
    Alert,
    BudgetLine,
    Clearance,
    Hold,
    KeyRecord,
    RateLine,
    RefusalKind,
    TeamRecord,
    cap_nano,
    from_nano,
)
from switchyard.services.router.governance.store import RATE_WINDOW_S
from switchyard.services.router.state import StateOptions

log = logging.getLogger(__name__)
# Settling runs in the background: it may wait longer than an admission, and is retried.
SETTLE_TIMEOUT_S = 2.0
SETTLE_TRIES = 3


class RedisGovernance:
    """Keys, teams, rate windows and budgets in Redis under `<prefix>{gov}:` (see GovernanceStore)."""

    def __init__(self, client: aioredis.Redis, prefix: str, options: StateOptions | None = None) -> None:
        self._client = client
        self._options = options or StateOptions()
        self._timeout = self._options.timeout_s
        self._base = f"{prefix}{{gov}}:"
        self._twin = MemoryGovernance()
        self._replica = uuid.uuid4().hex[:12]
        self._ids = itertools.count(1)
        self._lua = Scripts(client, lua.SCRIPTS)
        self._spent: dict[str, tuple[BudgetLine, int]] = {}
        self._policy = RedisPolicy(
            client,
            "governance",
            timeout_s=self._timeout,
            retry_s=self._options.retry_s,
            local="counting budgets locally",
            shared="back on shared keys and budgets",
            on_degrade=self._seed_twin,
        )

    @classmethod
    def connect(cls, url: str, prefix: str, options: StateOptions | None = None) -> RedisGovernance:
        """Returns a store on the Redis at url (connected lazily, each call bounded by options.timeout_s)."""
        options = options or StateOptions()
        client = new_client(url, options.timeout_s, max_connections=options.max_connections, decode=True)
        return cls(client, prefix, options)

    @property
    def degraded(self) -> bool:
        return self._policy.degraded

    # -- keys of Redis -----------------------------------------------------------------------------

    def _key(self, token: str) -> str:
        return f"{self._base}k:{token}"

    def _rate_keys(self, rate: RateLine) -> tuple[str, str]:
        base = f"{self._base}r:{rate.scope}:{rate.ident}:"
        return base + "w", base + "t"

    def _budget_keys(self, line: BudgetLine) -> tuple[str, str]:
        base = f"{self._base}b:{line.slot}:"
        return base + "z", base + "h"

    # -- Redis calls -------------------------------------------------------------------------------

    async def _eval(self, script: str, keys: Sequence[str], args: Sequence[Arg], timeout: float | None = None) -> Any:
        """Returns the script's reply; raises Unreachable as the policy decides."""
        return await self._policy.call(lambda: self._lua.one(script, keys, args), timeout)

    def _seed_twin(self) -> None:
        for line, spent in self._spent.values():
            self._twin.adopt(line, spent)

    def _unavailable(self) -> SwitchyardError:
        return SwitchyardError(E.ERROR_REASON_SERVICE_UNAVAILABLE, "the key store (Redis) cannot be reached")

    # -- admission ---------------------------------------------------------------------------------

    async def admit(
        self,
        token: str | None,
        rates: Sequence[RateLine],
        lines: Sequence[BudgetLine],
        *,
        estimate_nano: int,
        tokens: int,
        hold_ttl_s: float,
        minimum_nano: int | None = None,
    ) -> Clearance:
        hold_id = f"{self._replica}:{next(self._ids)}"
        least = estimate_nano if minimum_nano is None else minimum_nano
        keys = [self._key(token or "-")]
        args: list[Arg] = [
            "",
            hold_id,
            hold_ttl_s,
            RATE_WINDOW_S,
            1 if token else 0,
            len(rates),
            len(lines),
            estimate_nano,
            least,
        ]
        for rate in rates:
            keys += self._rate_keys(rate)
            args += [-1 if rate.rpm is None else rate.rpm, -1 if rate.tpm is None else rate.tpm, tokens]
        for line in lines:
            keys += self._budget_keys(line)
            args += [cap_nano(line.cap.hard_usd), line.end_s]
        try:
            reply = str(await self._eval(lua.ADMIT, keys, args))
        except Unreachable:
            if any(line.cap.hard_usd > 0 for line in lines):
                return Clearance(None, "unavailable")
            return await self._twin.admit(
                None,
                rates,
                lines,
                estimate_nano=estimate_nano,
                tokens=tokens,
                hold_ttl_s=hold_ttl_s,
                minimum_nano=minimum_nano,
                hold_id=hold_id,
            )
        return self._clearance(
            reply, hold_id=hold_id, rates=rates, lines=lines, estimate_nano=estimate_nano, tokens=tokens
        )

    def _clearance(
        self,
        reply: str,
        *,
        hold_id: str,
        rates: Sequence[RateLine],
        lines: Sequence[BudgetLine],
        estimate_nano: int,
        tokens: int,
    ) -> Clearance:
        """Returns the admission lua.ADMIT replied, remembering each budget's spending for a later outage."""
        parts = reply.split("|")
        kind = parts[0]
        if kind == "ok":
            held = int(parts[2])
            for index, line in enumerate(lines):
                self._spent[line.slot] = (line, int(parts[3 + 2 * index]))
            hold = Hold(hold_id, tuple(rates), tuple(lines), held, tokens, partial=held < estimate_nano)
            return Clearance(hold)
        refusal = cast(RefusalKind, kind)
        if kind in ("unknown", "revoked"):
            return Clearance(None, refusal)
        index = int(parts[1]) - 1
        if kind == "budget":
            return Clearance(None, refusal, index, None, int(parts[2]), int(parts[3]))
        return Clearance(None, refusal, index, float(parts[2]))

    async def settle(self, hold: Hold, cost_nano: int, tokens: int) -> list[Alert]:
        if hold.local:
            return await self._twin.settle(hold, cost_nano, tokens)
        keys: list[str] = []
        args: list[Arg] = [hold.id, len(hold.rates), len(hold.lines)]
        for rate in hold.rates:
            keys += self._rate_keys(rate)
            args.append(tokens)
        for line in hold.lines:
            keys += self._budget_keys(line)
            args += [cost_nano, cap_nano(line.cap.hard_usd), cap_nano(line.cap.soft_usd), line.end_s]
        reply = None
        for attempt in range(SETTLE_TRIES):
            try:
                reply = str(await self._eval(lua.SETTLE, keys, args, max(self._timeout, SETTLE_TIMEOUT_S)))
                break
            except Unreachable:
                await asyncio.sleep(0.1 * 2**attempt)
        if reply is None:
            # The reservation lapses in Redis after its TTL; the cost is counted locally meanwhile.
            log.warning("governance: could not settle a request's cost in Redis; counted on this replica only")
            return await self._twin.settle(hold, cost_nano, tokens)
        fired, *spents = reply.split("|")
        for line, spent in zip(hold.lines, spents, strict=True):
            self._spent[line.slot] = (line, int(spent))
        alerts = []
        for flag in filter(None, fired.split(",")):
            index, cap, level = flag.split(":")
            line = hold.lines[int(index) - 1]
            alerts.append(Alert(line, cast(Any, cap), cast(Any, level), from_nano(int(spents[int(index) - 1]))))
        return alerts

    async def usage(self, lines: Sequence[BudgetLine]) -> list[tuple[int, int]]:
        if not lines:
            return []
        calls: list[Call] = [(lua.USAGE, self._budget_keys(line), ("",)) for line in lines]
        try:
            replies = await self._policy.call(lambda: self._lua.run(calls))
        except Unreachable:
            return await self._twin.usage(lines)
        out = []
        for reply in replies:
            spent, reserved = str(reply).split("|")
            out.append((int(spent), int(reserved)))
        return out

    # -- keys and teams ----------------------------------------------------------------------------

    async def put_key(self, record: KeyRecord) -> None:
        key = self._key(record.token)
        pipe = self._client.pipeline(transaction=True)
        pipe.hset(key, "spec", record.to_json())
        if record.revoked:
            pipe.hset(key, "revoked", "1")
        if record.expires_ms:
            pipe.pexpireat(key, record.expires_ms)
        pipe.sadd(f"{self._base}keys", record.token)
        try:
            await self._policy.call(pipe.execute)
        except Unreachable:
            raise self._unavailable() from None
        await self._twin.put_key(record)

    async def get_key(self, token: str) -> KeyRecord | None:
        try:
            found = await self._policy.call(
                lambda: cast(Awaitable[Any], self._client.hmget(self._key(token), "spec", "revoked"))
            )
        except Unreachable:
            return await self._twin.get_key(token)
        spec, revoked = found
        return None if spec is None else KeyRecord.from_json(spec, revoked == "1")

    async def list_keys(self) -> list[KeyRecord]:
        async def read() -> list[KeyRecord]:
            tokens = sorted(await cast(Awaitable[set[str]], self._client.smembers(f"{self._base}keys")))
            pipe = self._client.pipeline(transaction=False)
            for token in tokens:
                pipe.hmget(self._key(token), "spec", "revoked")
            found = await pipe.execute() if tokens else []
            return [KeyRecord.from_json(spec, revoked == "1") for spec, revoked in found if spec is not None]

        try:
            return await self._policy.call(read)
        except Unreachable:
            raise self._unavailable() from None

    async def revoke(self, token: str) -> bool:
        await self._twin.revoke(token)
        try:
            return bool(await self._eval(lua.REVOKE, [self._key(token)], []))
        except Unreachable:
            raise self._unavailable() from None

    async def put_team(self, team: TeamRecord) -> None:
        try:
            await self._policy.call(
                lambda: cast(Awaitable[Any], self._client.hset(f"{self._base}teams", team.team_id, team.to_json()))
            )
        except Unreachable:
            raise self._unavailable() from None
        await self._twin.put_team(team)

    async def get_team(self, team_id: str) -> TeamRecord | None:
        try:
            found = await self._policy.call(
                lambda: cast(Awaitable[Any], self._client.hget(f"{self._base}teams", team_id))
            )
        except Unreachable:
            return await self._twin.get_team(team_id)
        return None if found is None else TeamRecord.from_json(found)

    async def list_teams(self) -> list[TeamRecord]:
        try:
            found = await self._policy.call(lambda: cast(Awaitable[Any], self._client.hgetall(f"{self._base}teams")))
        except Unreachable:
            raise self._unavailable() from None
        return [TeamRecord.from_json(found[team_id]) for team_id in sorted(found)]

    async def close(self) -> None:
        await self._policy.close()
        await self._client.aclose()
