"""One request's governance from arrival to its ledger record: key, permission, budget hold, cost, record.

    tally = governance.tally(request, authorization, stream=False, spawn=spawn)
    try:
        context = await tally.begin(context)     # 401 / 403; the context now names the key's team and app
        prep = await prepare(...)
        upstream = await tally.admit(prep)       # 401 (revoked) / 429 (rate) / 429 (budget): nothing forwarded
        ...send `upstream` (the request, its output capped when its budget is near the cap)...
        ...answer...  tally.answered(route, usage)   or   tally.hit(prep)
        ...a stream cut or abandoned after tokens were relayed: tally.relayed(route, usage), then failed()
    except BaseException as exc:
        tally.failed(exc); raise
    finally:
        tally.finish()                           # settles or releases the hold, appends the ledger record

Every request that reaches the router gets exactly one ledger record, refusals included. A stream the
client abandons or the upstream cuts after its first token still costs what it produced: the tokens
the router relayed, prompt included, settle its hold and show in its record (status `cancelled` or
`stream_interrupted`), so reading all but the last chunk is no way around a budget.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Coroutine
from typing import Any

from switchyard.common.v1 import chat_pb2, context_pb2, route_pb2
from switchyard.config import ModelEntry
from switchyard.router.v1 import admin_pb2
from switchyard.runtime.errors import SwitchyardError
from switchyard.runtime.route import cache_name
from switchyard.runtime.telemetry import current_trace_id
from switchyard.services.router import metrics
from switchyard.services.router.governance.budgets import output_within
from switchyard.services.router.governance.governor import Governor, Identity
from switchyard.services.router.governance.ledger import Ledger
from switchyard.services.router.governance.model import Hold, from_nano
from switchyard.services.router.record import cost_of
from switchyard.services.router.routing import RoutingTable
from switchyard.services.router.scope import EVERYTHING, Reach
from switchyard.services.router.walk import Prepared

Spawn = Callable[[Coroutine[Any, Any, None]], None]
# A reservation outlives its request's time limit by this much before it lapses (a crashed replica's).
HOLD_GRACE_S = 60.0


class Governance:
    """The governor and the ledger, as the pipeline uses them for every request."""

    def __init__(self, governor: Governor, ledger: Ledger) -> None:
        self.governor, self.ledger = governor, ledger

    def tally(self, request: chat_pb2.ChatRequest, authorization: str, *, stream: bool, spawn: Spawn) -> Tally:
        return Tally(self, request, authorization, stream=stream, spawn=spawn)


class Tally:
    """What governance knows of one request while it runs (see the module docstring)."""

    def __init__(
        self, governance: Governance, request: chat_pb2.ChatRequest, authorization: str, *, stream: bool, spawn: Spawn
    ) -> None:
        self._gov, self._request, self._authorization = governance, request, authorization
        self._spawn = spawn
        self._started = time.monotonic()
        self.record = admin_pb2.LedgerRecord(
            time_ms=int(time.time() * 1000), alias=request.model, stream=stream, trace_id=current_trace_id()
        )
        self.identity: Identity | None = None
        self._hold: Hold | None = None
        self._route: route_pb2.RouteRecord | None = None
        # A cache hit's answer: (deployment id, provider, model) of the deployment that first gave it.
        self._replayed: tuple[str, str, str] | None = None
        self._tokens = 0
        self._done = False
        # answer is the completion the client got (set by the pipeline), which the evaluator may grade.
        self.answer: chat_pb2.ChatCompletion | None = None

    @property
    def route(self) -> route_pb2.RouteRecord | None:
        """Returns the request's route record, once it has one."""
        return self._route

    async def begin(self, context: context_pb2.RequestContext) -> context_pb2.RequestContext:
        """Returns the context the request runs with: its id set, and its tenant, team and app the key's."""
        record = self.record
        fresh = context_pb2.RequestContext()
        fresh.CopyFrom(context)
        fresh.request_id = fresh.request_id or uuid.uuid4().hex
        record.request_id, record.feature = fresh.request_id, fresh.feature
        governor = self._gov.governor
        if governor.auth:
            # Until the key is known to be valid, only the prefix of what was presented is recorded.
            record.key_prefix = governor.prefix_of_header(self._authorization)
        identity = self.identity = await governor.authenticate(self._authorization)
        if identity is not None:
            fresh.tenant, fresh.team, fresh.app = identity.tenant, identity.team_id, identity.app
            fresh.key_prefix = identity.key_prefix
            record.key_prefix, record.team, record.app = identity.key_prefix, identity.team_id, identity.app
        governor.permit(identity, self._request.model)
        return fresh

    def reach(self, table: RoutingTable) -> Reach:
        """Returns the deployments this request may be sent to: those of the names its key and team allow."""
        identity = self.identity
        if identity is None or identity.key is None:
            return EVERYTHING
        return table.reach(identity.allowed, f"key {identity.key_prefix}...")

    async def admit(self, prep: Prepared) -> chat_pb2.ChatRequest:
        """Holds the request's estimated cost in its budgets and its place in its rate windows, or raises.

        The estimate is priced at the priciest deployment the request can reach within its key's
        reach: its target's and every fallback group's (`prep.reachable`), for each of its `n` choices.
        Returns the request to send upstream: the client's, or, when its budget is near the cap and holds
        less than the estimate, a copy whose output is capped to what the hold pays for at the priciest
        of those same deployments (the route's reason says so), so no fallback can overspend the hold.
        """
        self._route = prep.route
        facts, request = prep.facts, prep.request
        self.record.category = facts.category
        ttl = prep.policies.config.switchyard.request_timeout + HOLD_GRACE_S
        governor = self._gov.governor
        choices = request.n if request.HasField("n") else 1
        entries = prep.reachable
        hold = self._hold = await governor.admit(
            self.identity, entries, facts.prompt_tokens, facts.max_output_tokens, ttl, choices=choices
        )
        if hold is None or not hold.partial or prep.hit is not None:
            return request
        limit = output_within(entries, facts.prompt_tokens, from_nano(hold.reserved_nano), choices)
        if limit is None:
            return request
        note = f"budget near its cap: output capped at {limit} tokens"
        prep.route.reason = f"{prep.route.reason}; {note}" if prep.route.reason else note
        return capped(request, limit)

    async def admit_embedding(
        self, route: route_pb2.RouteRecord, entries: tuple[ModelEntry, ...], tokens: int, timeout_s: float
    ) -> None:
        """Holds an embeddings request's estimated cost (its input tokens, no output) and its rate-window
        place, priced at the priciest of the deployments it may go to, or raises (401 / 429)."""
        self._route = route
        self._hold = await self._gov.governor.admit(self.identity, entries, tokens, 0, timeout_s + HOLD_GRACE_S)

    def hit(self, prep: Prepared) -> None:
        """Records a cache hit: it costs nothing, and saves what its replayed answer cost."""
        assert prep.hit is not None
        usage = prep.hit.usage
        entries = prep.resolution.entries
        entry = prep.policies.table.deployment(prep.hit_deployment) if prep.hit_deployment else None
        if entry is None:
            entry = next((e for e in entries if e.upstream_model == prep.hit.model), entries[0] if entries else None)
        self.record.saved_usd = cost_of(entry, usage) if entry is not None else 0.0
        if entry is not None:
            self._replayed = (entry.deployment_id, entry.provider, prep.hit.model or entry.upstream_model)
        self._usage(usage)
        self._route = prep.route
        self._close(0.0, 0)

    def first_token(self) -> None:
        """Notes the time to the stream's first token."""
        if not self.record.ttft_ms:
            self.record.ttft_ms = (time.monotonic() - self._started) * 1000

    def answered(self, route: route_pb2.RouteRecord, usage: chat_pb2.Usage) -> None:
        """Records an answer and settles its hold with the real cost."""
        self._route = route
        self.record.cost_usd = route.cost_usd
        self._usage(usage)
        self._close(route.cost_usd, usage.total_tokens)

    def relayed(self, route: route_pb2.RouteRecord, usage: chat_pb2.Usage) -> None:
        """Settles a stream that ended early (cut, or abandoned by the client) with the cost of what was
        relayed; failed() records how it ended."""
        self._route = route
        self.record.cost_usd = route.cost_usd
        self._usage(usage)
        self._close(route.cost_usd, usage.total_tokens)

    def failed(self, exc: BaseException) -> None:
        """Records why the request failed and releases its hold."""
        if isinstance(exc, SwitchyardError):
            self.record.status = exc.name
            self._route = exc.route or self._route
        elif isinstance(exc, (asyncio.CancelledError, GeneratorExit)):
            self.record.status = "cancelled"
        else:
            self.record.status = "internal"
        self._close(None, 0)

    def _usage(self, usage: chat_pb2.Usage) -> None:
        record = self.record
        record.prompt_tokens, record.completion_tokens = usage.prompt_tokens, usage.completion_tokens
        record.cached_tokens = usage.prompt_tokens_details.cached_tokens

    def _close(self, cost_usd: float | None, tokens: int) -> None:
        if self._done:
            return
        self._done = True
        governor = self._gov.governor
        if cost_usd is None:
            governor.release(self._spawn, self._hold)
        else:
            governor.settle(self._spawn, self._hold, cost_usd, tokens)

    def finish(self) -> None:
        """Appends the request's ledger record and counts it in the metrics (once)."""
        self._close(None, 0)
        record, route = self.record, self._route
        record.status = record.status or "ok"
        record.latency_ms = (time.monotonic() - self._started) * 1000
        if route is not None:
            record.deployment_id, record.provider, record.model = route.deployment_id, route.provider, route.model
            if not route.deployment_id and self._replayed is not None:
                # A hit is counted (and its saving shown) under the model whose answer it replayed.
                record.deployment_id, record.provider, record.model = self._replayed
            record.cache = cache_name(route.cache)
            record.experiment, record.arm = route.experiment, route.arm
            record.route_reason = route.reason
            record.attempts = sum(1 for a in route.attempts if a.number > 0)
            record.failovers = sum(1 for a in route.attempts if a.outcome == route_pb2.ATTEMPT_OUTCOME_FAILED)
            if not record.ttft_ms and route.attempts:
                record.ttft_ms = route.attempts[-1].ttft_ms
        self._gov.ledger.append(record)
        metrics.observe_request(record, route)


def capped(request: chat_pb2.ChatRequest, limit: int) -> chat_pb2.ChatRequest:
    """Returns a copy of request whose output limit is at most `limit` tokens (a lower one of its own is kept).

    Every adapter reads max_completion_tokens first, then max_tokens; both are capped when set, and
    max_completion_tokens is set when neither is.
    """
    out = chat_pb2.ChatRequest()
    out.CopyFrom(request)
    if request.HasField("max_tokens"):
        out.max_tokens = min(request.max_tokens, limit)
    if request.HasField("max_completion_tokens") or not request.HasField("max_tokens"):
        own = request.max_completion_tokens if request.HasField("max_completion_tokens") else limit
        out.max_completion_tokens = min(own, limit)
    return out
