"""Who may call, and what they may spend: the key check, model permissions, rate limits and budget holds.

    identity = await governor.authenticate(authorization)   # None when auth is off; raises 401
    governor.permit(identity, request.model)                 # raises 403
    hold = await governor.admit(identity, entries, prompt_tokens, max_tokens)   # raises 401 / 429
    # hold.partial: near a cap, less than the estimate is held; cap the output to output_within(...)
    ...the walk...
    governor.settle(hold, cost_usd, tokens)                  # background; release(hold) on failure

With auth off (no master key, no keys configured) nothing here touches the store: there is no
identity, so no key, team or app budget applies. The master key may call anything, unlimited, as team
"admin". Any other key costs one store round trip per request (admission), which checks the key's
revocation together with its rate windows and budgets.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from switchyard.common.v1 import errors_pb2 as E
from switchyard.config import ModelEntry
from switchyard.config.governance import KEY_PREFIX_CHARS, token_of
from switchyard.runtime.errors import SwitchyardError
from switchyard.services.router.governance.alerts import AlertSink
from switchyard.services.router.governance.budgets import app_lines, estimate_usd, key_lines, lines_of, team_lines
from switchyard.services.router.governance.keys import Keys
from switchyard.services.router.governance.model import (
    ADMIN_TEAM,
    BudgetLine,
    Cap,
    Clearance,
    Hold,
    KeyRecord,
    RateLine,
    TeamRecord,
    from_nano,
    to_nano,
)
from switchyard.services.router.governance.store import GovernanceStore

log = logging.getLogger(__name__)
Spawn = Callable[[Coroutine[Any, Any, None]], None]
_INVALID = "Authentication Error: invalid, expired or revoked key"
# The master key's cache tenant, in a namespace no team or key name reaches (those are team:… and key:…).
MASTER_TENANT = "master"


@dataclass(frozen=True)
class Identity:
    """Who a request comes from: a virtual key (and its team), or the master key (key None)."""

    key: KeyRecord | None
    team: TeamRecord | None = None

    @property
    def master(self) -> bool:
        return self.key is None

    @property
    def key_prefix(self) -> str:
        return "" if self.key is None else self.key.key_prefix

    @property
    def team_id(self) -> str:
        return ADMIN_TEAM if self.key is None else self.key.team_id

    @property
    def app(self) -> str:
        return "" if self.key is None else self.key.app

    @property
    def allowed(self) -> tuple[tuple[str, ...], ...]:
        """Returns the names the key, and its team, each allow (an empty list: every name; none at all: the
        master key). A request may reach only what every list allows (router/scope.py)."""
        if self.key is None:
            return ()
        lists = [self.key.limits.models]
        if self.team is not None:
            lists.append(self.team.limits.models)
        return tuple(lists)

    @property
    def tenant(self) -> str:
        """Returns the cache tenant: the master key's own, else the key's team when it has one, else the key.

        The master key's tenant is not `team:admin` (the team it is reported as): a team a caller names
        "admin" must not share, or read, the master key's cached answers.
        """
        if self.key is None:
            return MASTER_TENANT
        if self.key.team_id:
            return f"team:{self.key.team_id}"
        return f"key:{self.key.token[:16]}"


MASTER = Identity(None)


def unauthenticated(message: str = _INVALID) -> SwitchyardError:
    return SwitchyardError(E.ERROR_REASON_UNAUTHENTICATED, message)


def bearer(authorization: str) -> str:
    """Returns the secret of an `authorization` value ("Bearer <secret>", or the bare secret)."""
    value = authorization.strip()
    scheme, _, rest = value.partition(" ")
    return rest.strip() if scheme.lower() == "bearer" else value


class Governor:
    """Keys, permissions, rate limits and budgets as the request pipeline uses them."""

    def __init__(
        self,
        store: GovernanceStore,
        keys: Keys,
        alerts: AlertSink,
        *,
        master_token: str | None,
        auth: bool,
        apps: Mapping[str, Sequence[Cap]] | None = None,
        output_tokens: int = 1024,
        min_output_tokens: int = 1,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store, self.keys, self.alerts = store, keys, alerts
        self._master = master_token
        self.auth = auth
        self.apps: Mapping[str, Sequence[Cap]] = apps or {}
        self._output_tokens, self._min_output_tokens = output_tokens, min_output_tokens
        self._clock = clock

    async def reconfigure(
        self,
        *,
        master_token: str | None,
        auth: bool,
        apps: Mapping[str, Sequence[Cap]],
        output_tokens: int,
        min_output_tokens: int,
        webhook: str,
    ) -> None:
        """Applies a reloaded config's master key, apps' budgets, output estimate and floor, and alert webhook."""
        self._master, self.auth, self.apps = master_token, auth, apps
        self._output_tokens, self._min_output_tokens = output_tokens, min_output_tokens
        if webhook != self.alerts.webhook:
            previous, self.alerts = self.alerts, AlertSink(webhook)
            await previous.close()

    def is_master(self, authorization: str) -> bool:
        """Returns whether the credentials are the master key."""
        secret = bearer(authorization)
        return bool(secret) and self._is_master_token(token_of(secret))

    def _is_master_token(self, token: str) -> bool:
        """Says whether a token is the master key's, in time that does not depend on where they differ."""
        return self._master is not None and hmac.compare_digest(token, self._master)

    async def authenticate(self, authorization: str) -> Identity | None:
        """Returns who calls (None when auth is off); raises UNAUTHENTICATED for a missing or bad key."""
        if not self.auth:
            return None
        secret = bearer(authorization)
        if not secret:
            raise unauthenticated("Authentication Error: no key given (Authorization: Bearer sk-...)")
        token = token_of(secret)
        if self._is_master_token(token):
            return MASTER
        record = await self.keys.lookup(token)
        if record is None or record.revoked or record.expired(int(self._clock() * 1000)):
            raise unauthenticated()
        team = await self.keys.team(record.team_id) if record.team_id else None
        return Identity(record, team)

    def permit(self, identity: Identity | None, model: str) -> None:
        """Raises PERMISSION_DENIED when the key or its team may not use the model or alias asked for."""
        if identity is None or identity.key is None:
            return
        allowed = identity.key.limits.allows(model) and (identity.team is None or identity.team.limits.allows(model))
        if not allowed:
            raise SwitchyardError(
                E.ERROR_REASON_PERMISSION_DENIED,
                f"key {identity.key_prefix}... may not use model '{model}'",
                param="model",
            )

    def rates_of(self, identity: Identity) -> list[RateLine]:
        out: list[RateLine] = []
        key, team = identity.key, identity.team
        if key is not None and (key.limits.rpm_limit is not None or key.limits.tpm_limit is not None):
            out.append(RateLine("key", key.token, key.limits.rpm_limit, key.limits.tpm_limit))
        if team is not None and (team.limits.rpm_limit is not None or team.limits.tpm_limit is not None):
            out.append(RateLine("team", team.team_id, team.limits.rpm_limit, team.limits.tpm_limit))
        return out

    def lines_of(self, identity: Identity) -> list[BudgetLine]:
        return lines_of(identity.key, identity.team, self.apps, self._clock())

    async def admit(
        self,
        identity: Identity | None,
        entries: Iterable[ModelEntry],
        prompt_tokens: int,
        max_tokens: int | None,
        hold_ttl_s: float,
        *,
        choices: int = 1,
    ) -> Hold | None:
        """Reserves the request's estimate in its budgets and its place in its rate windows, or raises.

        Near a hard cap the hold may be less than the estimate (`hold.partial`): what the tightest budget
        had left, at least the prompt and `min_output_tokens` per choice; the caller must then cap the
        request's output to what the hold pays for (budgets.output_within). Returns None when nothing is
        held (auth off, or the master key).
        """
        if identity is None or identity.key is None:
            return None
        key = identity.key
        output = max_tokens if max_tokens is not None else self._output_tokens
        choices = max(choices, 1)
        estimate = to_nano(estimate_usd(entries, prompt_tokens, output * choices))
        least = min(output, self._min_output_tokens) * choices
        minimum = to_nano(estimate_usd(entries, prompt_tokens, least))
        rates, lines = self.rates_of(identity), self.lines_of(identity)

        async def admission() -> Clearance:
            return await self.store.admit(
                key.token,
                rates,
                lines,
                estimate_nano=estimate,
                tokens=prompt_tokens + output * choices,
                hold_ttl_s=hold_ttl_s,
                minimum_nano=minimum,
            )

        clearance = await admission()
        if clearance.refusal == "unknown" and await self.keys.restore(key.token):
            log.warning("governance: the key store had lost the config file's keys; stored them again")
            clearance = await admission()
        if clearance.hold is not None:
            return clearance.hold
        raise self._refusal(identity, clearance, rates, lines, minimum)

    def _refusal(
        self,
        identity: Identity,
        clearance: Clearance,
        rates: Sequence[RateLine],
        lines: Sequence[BudgetLine],
        minimum: int,
    ) -> SwitchyardError:
        if clearance.refusal in ("unknown", "revoked"):
            assert identity.key is not None
            self.keys.revoked(identity.key.token)
            return unauthenticated()
        if clearance.refusal == "unavailable":
            return SwitchyardError(
                E.ERROR_REASON_SERVICE_UNAVAILABLE,
                "budgets cannot be checked right now; nothing was forwarded",
                retry_after_s=1.0,
            )
        if clearance.refusal in ("rpm", "tpm"):
            rate = rates[clearance.index]
            name = f"key {identity.key_prefix}..." if rate.scope == "key" else f"team {rate.ident}"
            limit = rate.rpm if clearance.refusal == "rpm" else rate.tpm
            return SwitchyardError(
                E.ERROR_REASON_RATE_LIMITED,
                f"{name} is over its {clearance.refusal} limit of {limit}",
                retry_after_s=max(clearance.retry_after_s or 0.0, 0.001),
            )
        line = lines[clearance.index]
        used = from_nano(clearance.spent_nano + clearance.reserved_nano)
        window = line.cap.window or "lifetime"
        name = f"{line.scope} {line.label}{'...' if line.scope == 'key' else ''}"
        wait = max(line.end_s - self._clock(), 0.0) if line.end_s else None
        return SwitchyardError(
            E.ERROR_REASON_BUDGET_EXCEEDED,
            f"Budget has been exceeded: {name} has spent or reserved ${used:.6f} of its {window} budget of "
            f"${line.cap.hard_usd:.6f}; this request needs at least ${from_nano(minimum):.6f}",
            retry_after_s=wait,
        )

    def settle(self, spawn: Spawn, hold: Hold | None, cost_usd: float, tokens: int) -> None:
        """Replaces the hold's reservation by the real cost, in the background; alerts follow."""
        if hold is not None:
            spawn(self._settle(hold, to_nano(cost_usd) if cost_usd > 0 else 0, tokens))

    def release(self, spawn: Spawn, hold: Hold | None) -> None:
        """Gives a failed request's reservation back (its place in the rpm window stays taken)."""
        self.settle(spawn, hold, 0.0, 0)

    async def _settle(self, hold: Hold, cost_nano: int, tokens: int) -> None:
        alerts = await self.store.settle(hold, cost_nano, tokens)
        if alerts:
            self.alerts.send(alerts)

    async def all_lines(self) -> list[BudgetLine]:
        """Returns every budget known: of each key, each team and each configured app, in its current window."""
        now = self._clock()
        keys, teams = await self.keys.listing(), await self.keys.teams()
        lines = [line for key in keys for line in key_lines(key, now)]
        lines += [line for team in teams for line in team_lines(team, now)]
        lines += [line for app, caps in self.apps.items() for line in app_lines(app, caps, now)]
        return lines

    @staticmethod
    def prefix_of_header(authorization: str) -> str:
        """Returns the part of a presented secret that may be recorded (its first 12 characters)."""
        return bearer(authorization)[:KEY_PREFIX_CHARS]
