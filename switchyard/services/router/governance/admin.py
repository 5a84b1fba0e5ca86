"""switchyard.router.v1.AdminService: keys, teams, budgets, the ledger and cache invalidation.

Every call needs the master key in the `authorization` metadata: none or a bad key is
UNAUTHENTICATED, a valid virtual key that is not the master key PERMISSION_DENIED. Handlers are
thin: they convert, delegate to the key store, the budgets or the ledger, and map errors.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from grpc import aio

from switchyard.cache.v1 import cache_pb2
from switchyard.common.v1 import errors_pb2 as E
from switchyard.config.governance import canonical_window, duration_seconds
from switchyard.router.v1 import admin_pb2, admin_pb2_grpc
from switchyard.runtime.errors import SwitchyardError, internal_error
from switchyard.services.router import judgements, metrics
from switchyard.services.router.governance.budgets import key_lines
from switchyard.services.router.governance.governor import unauthenticated
from switchyard.services.router.governance.model import Allowance, BudgetLine, Cap, KeyRecord, TeamRecord, from_nano
from switchyard.services.router.governance.tally import Governance
from switchyard.services.router.peers import Cache

if TYPE_CHECKING:
    from switchyard.services.router.feedback import EvaluatorPeer

T = TypeVar("T")
_INVALIDATE_TIMEOUT_S = 5.0


def authorization_of(context: aio.ServicerContext) -> str:
    """Returns the caller's `authorization` metadata ("" when absent)."""
    for key, value in context.invocation_metadata() or ():
        if key == "authorization":
            return value if isinstance(value, str) else value.decode()
    return ""


def limits_from(limits: admin_pb2.Limits) -> Allowance:
    """Returns the limits a request asks for; raises ValueError for an unknown budget window."""
    caps = tuple(Cap(canonical_window(b.window), b.hard_usd, b.soft_usd) for b in limits.budgets)
    return Allowance(
        tuple(limits.models),
        limits.rpm_limit or None,
        limits.tpm_limit or None,
        caps,
    )


def limits_to(limits: Allowance) -> admin_pb2.Limits:
    return admin_pb2.Limits(
        models=list(limits.models),
        rpm_limit=limits.rpm_limit or 0,
        tpm_limit=limits.tpm_limit or 0,
        budgets=[admin_pb2.Budget(window=c.window, hard_usd=c.hard_usd, soft_usd=c.soft_usd) for c in limits.budgets],
    )


def key_info(record: KeyRecord, spend_nano: int = 0) -> admin_pb2.KeyInfo:
    spec = admin_pb2.KeySpec(
        key_alias=record.key_alias,
        team_id=record.team_id,
        app=record.app,
        limits=limits_to(record.limits),
        duration=record.duration,
        metadata=dict(record.metadata),
    )
    return admin_pb2.KeyInfo(
        token=record.token,
        key_prefix=record.key_prefix,
        spec=spec,
        created_at_ms=record.created_ms,
        expires_at_ms=record.expires_ms,
        revoked=record.revoked,
        spend_usd=from_nano(spend_nano),
    )


def team_to(team: TeamRecord) -> admin_pb2.Team:
    return admin_pb2.Team(
        team_id=team.team_id, team_alias=team.team_alias, limits=limits_to(team.limits), metadata=dict(team.metadata)
    )


def budget_use(line: BudgetLine, spent: int, reserved: int) -> admin_pb2.BudgetUse:
    return admin_pb2.BudgetUse(
        scope=line.scope,
        id=line.label,
        window=line.cap.window or "all",
        window_start_ms=line.start_s * 1000,
        window_end_ms=line.end_s * 1000,
        spent_usd=from_nano(spent),
        reserved_usd=from_nano(reserved),
        hard_usd=line.cap.hard_usd,
        soft_usd=line.cap.soft_usd,
    )


def _invalid(message: str) -> SwitchyardError:
    return SwitchyardError(E.ERROR_REASON_INVALID_REQUEST, message)


class AdminServicer(admin_pb2_grpc.AdminServiceServicer):
    """The admin API, served beside RouterService on the router's gRPC server."""

    def __init__(self, governance: Governance, cache: Cache, evaluator: EvaluatorPeer | None = None) -> None:
        self._evaluator = evaluator
        self._gov = governance
        self._governor = governance.governor
        self._keys = governance.governor.keys
        self._cache = cache

    async def _run(self, context: aio.ServicerContext, work: Callable[[], Awaitable[T]]) -> T:
        """Checks the master key, then returns work()'s result; errors become rich gRPC statuses."""
        try:
            await self._check_master(authorization_of(context))
            return await work()
        except SwitchyardError as err:
            await context.abort_with_status(err.to_rpc_status())
        except ValueError as exc:
            await context.abort_with_status(_invalid(str(exc)).to_rpc_status())
        except Exception as exc:
            await context.abort_with_status(internal_error(exc, "router").to_rpc_status())
        raise AssertionError("unreachable")  # abort_with_status always raises

    async def _check_master(self, authorization: str) -> None:
        governor = self._governor
        if governor.is_master(authorization):
            return
        if not governor.auth or not authorization:
            raise unauthenticated("Authentication Error: the admin API needs the master key")
        await governor.authenticate(authorization)  # raises UNAUTHENTICATED for a bad key
        raise SwitchyardError(E.ERROR_REASON_PERMISSION_DENIED, "only the master key may call the admin API")

    async def _spend(self, records: list[KeyRecord]) -> list[int]:
        """Returns what each key spent in its first budget's current window (lifetime when it has none)."""
        now = self._keys.now_ms() / 1000
        lines = [key_lines(record, now)[0] for record in records]
        return [spent for spent, _ in await self._governor.store.usage(lines)]

    async def GenerateKey(
        self, request: admin_pb2.GenerateKeyRequest, context: aio.ServicerContext
    ) -> admin_pb2.GenerateKeyResponse:
        async def work() -> admin_pb2.GenerateKeyResponse:
            spec = request.spec
            if spec.duration:
                duration_seconds(spec.duration)
            secret, record = await self._keys.create(
                secret=request.key,
                limits=limits_from(spec.limits),
                key_alias=spec.key_alias,
                team_id=spec.team_id,
                app=spec.app,
                duration=spec.duration,
                metadata=dict(spec.metadata),
            )
            return admin_pb2.GenerateKeyResponse(key=secret, info=key_info(record))

        return await self._run(context, work)

    async def GetKeyInfo(
        self, request: admin_pb2.GetKeyInfoRequest, context: aio.ServicerContext
    ) -> admin_pb2.GetKeyInfoResponse:
        async def work() -> admin_pb2.GetKeyInfoResponse:
            record = await self._keys.find(request.key)
            if record is None:
                raise SwitchyardError(E.ERROR_REASON_INVALID_REQUEST, "no such key", http_status=404, param="key")
            (spent,) = await self._spend([record])
            return admin_pb2.GetKeyInfoResponse(info=key_info(record, spent))

        return await self._run(context, work)

    async def ListKeys(
        self, request: admin_pb2.ListKeysRequest, context: aio.ServicerContext
    ) -> admin_pb2.ListKeysResponse:
        async def work() -> admin_pb2.ListKeysResponse:
            records = await self._keys.listing(request.team_id)
            spends = await self._spend(records)
            return admin_pb2.ListKeysResponse(keys=[key_info(r, s) for r, s in zip(records, spends, strict=True)])

        return await self._run(context, work)

    async def DeleteKeys(
        self, request: admin_pb2.DeleteKeysRequest, context: aio.ServicerContext
    ) -> admin_pb2.DeleteKeysResponse:
        async def work() -> admin_pb2.DeleteKeysResponse:
            deleted = [name for name in request.keys if await self._keys.revoke(name)]
            return admin_pb2.DeleteKeysResponse(deleted_keys=deleted)

        return await self._run(context, work)

    async def NewTeam(
        self, request: admin_pb2.NewTeamRequest, context: aio.ServicerContext
    ) -> admin_pb2.NewTeamResponse:
        async def work() -> admin_pb2.NewTeamResponse:
            team = request.team
            record = TeamRecord(team.team_id, team.team_alias, limits_from(team.limits), dict(team.metadata))
            return admin_pb2.NewTeamResponse(team=team_to(await self._keys.put_team(record)))

        return await self._run(context, work)

    async def ListTeams(
        self, request: admin_pb2.ListTeamsRequest, context: aio.ServicerContext
    ) -> admin_pb2.ListTeamsResponse:
        async def work() -> admin_pb2.ListTeamsResponse:
            return admin_pb2.ListTeamsResponse(teams=[team_to(t) for t in await self._keys.teams()])

        return await self._run(context, work)

    async def GetSpendLogs(
        self, request: admin_pb2.GetSpendLogsRequest, context: aio.ServicerContext
    ) -> admin_pb2.GetSpendLogsResponse:
        async def work() -> admin_pb2.GetSpendLogsResponse:
            return admin_pb2.GetSpendLogsResponse(records=await self._gov.ledger.logs(request))

        return await self._run(context, work)

    async def GetSpendReport(
        self, request: admin_pb2.GetSpendReportRequest, context: aio.ServicerContext
    ) -> admin_pb2.GetSpendReportResponse:
        async def work() -> admin_pb2.GetSpendReportResponse:
            return admin_pb2.GetSpendReportResponse(rows=await self._gov.ledger.report(request))

        return await self._run(context, work)

    async def GetBudgets(
        self, request: admin_pb2.GetBudgetsRequest, context: aio.ServicerContext
    ) -> admin_pb2.GetBudgetsResponse:
        async def work() -> admin_pb2.GetBudgetsResponse:
            lines = [line for line in await self._governor.all_lines() if line.cap.hard_usd or line.cap.soft_usd]
            uses = [
                budget_use(line, spent, reserved)
                for line, (spent, reserved) in zip(lines, await self._governor.store.usage(lines), strict=True)
            ]
            for use in uses:
                metrics.set_budget_use(use)
            return admin_pb2.GetBudgetsResponse(budgets=uses)

        return await self._run(context, work)

    async def InvalidateCache(
        self, request: admin_pb2.InvalidateCacheRequest, context: aio.ServicerContext
    ) -> admin_pb2.InvalidateCacheResponse:
        async def work() -> admin_pb2.InvalidateCacheResponse:
            forwarded = cache_pb2.InvalidateRequest()
            forwarded.ParseFromString(request.SerializeToString())  # the same selector, field for field
            reply = await self._cache.invalidate(forwarded, _INVALIDATE_TIMEOUT_S)
            return admin_pb2.InvalidateCacheResponse(removed=reply.removed)

        return await self._run(context, work)

    async def GetExperimentReport(
        self, request: admin_pb2.GetExperimentReportRequest, context: aio.ServicerContext
    ) -> admin_pb2.GetExperimentReportResponse:
        async def work() -> admin_pb2.GetExperimentReportResponse:
            return admin_pb2.GetExperimentReportResponse(report=await self._evaluator_peer().report(request.name))

        return await self._run(context, work)

    def _evaluator_peer(self) -> EvaluatorPeer:
        if self._evaluator is None:
            raise SwitchyardError(E.ERROR_REASON_SERVICE_UNAVAILABLE, "No evaluator is configured for this gateway.")
        return self._evaluator

    async def GetQuality(
        self, request: admin_pb2.GetQualityRequest, context: aio.ServicerContext
    ) -> admin_pb2.GetQualityResponse:
        async def work() -> admin_pb2.GetQualityResponse:
            return admin_pb2.GetQualityResponse(quality=await self._evaluator_peer().quality(request.deployment_id))

        return await self._run(context, work)

    async def RecordJudgements(
        self, request: admin_pb2.RecordJudgementsRequest, context: aio.ServicerContext
    ) -> admin_pb2.RecordJudgementsResponse:
        async def work() -> admin_pb2.RecordJudgementsResponse:
            stored = await judgements.keep(self._gov.ledger, request.judgements)
            return admin_pb2.RecordJudgementsResponse(stored=stored)

        return await self._run(context, work)
