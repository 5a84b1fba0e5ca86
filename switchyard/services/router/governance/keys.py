"""Virtual keys and teams: created, looked up, listed and revoked, with a local cache in front of the store.

A lookup costs nothing once a key is cached: key records never change after creation except for
their revocation, which the store checks inside every request's admission (one round trip shared
with the budgets), so a key revoked on any replica is refused from its next request on. Teams can be
replaced (NewTeam), so a cached team is re-read after `team_ttl_s`.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from switchyard.config.governance import duration_seconds, prefix_of, token_of
from switchyard.services.router.governance.model import Allowance, KeyRecord, TeamRecord
from switchyard.services.router.governance.store import GovernanceStore

SECRET_START = "sk-sy-"
SECRET_CHARS = 32
# The largest local caches; past them the oldest entries are dropped.
MAX_CACHED = 100_000
NO_LIMITS = Allowance()


def new_secret() -> str:
    """Returns a fresh key secret: "sk-sy-" and 32 URL-safe random characters."""
    return SECRET_START + secrets.token_urlsafe(SECRET_CHARS)[:SECRET_CHARS]


class Keys:
    """Keys and teams of the store, cached locally; the clock returns Unix seconds."""

    def __init__(self, store: GovernanceStore, clock: Callable[[], float] = time.time, team_ttl_s: float = 2.0) -> None:
        self._store = store
        self._clock = clock
        self._team_ttl = team_ttl_s
        self._keys: dict[str, KeyRecord] = {}
        self._teams: dict[str, tuple[float, TeamRecord | None]] = {}
        # The config file's keys and teams, stored again should the store lose them.
        self._configured: tuple[dict[str, KeyRecord], Sequence[TeamRecord]] = ({}, ())

    def now_ms(self) -> int:
        return int(self._clock() * 1000)

    async def seed(self, keys: Sequence[KeyRecord], teams: Sequence[TeamRecord]) -> None:
        """Stores the config's keys and teams (a key revoked through the admin API stays revoked)."""
        self._configured = ({key.token: key for key in keys}, tuple(teams))
        # Cached first: a replica that cannot reach Redis at start still knows the config's keys.
        for team in teams:
            self._teams[team.team_id] = (self._clock(), team)
        for key in keys:
            self._remember(key)
        for team in teams:
            await self._store.put_team(team)
        for key in keys:
            await self._store.put_key(key)

    def configured(self) -> Mapping[str, KeyRecord]:
        """Returns the keys the config file lists, by token."""
        return self._configured[0]

    async def restore(self, token: str) -> bool:
        """Stores the config's keys and teams again when token is one of them; returns whether it was.

        The store can lose them (Redis restarted without persistence, or unreachable when this
        replica started); a config key must keep working, so its admission is retried after this.
        """
        keys, teams = self._configured
        if token not in keys:
            return False
        for team in teams:
            await self._store.put_team(team)
        for key in keys.values():
            await self._store.put_key(key)
        return True

    def _remember(self, record: KeyRecord) -> None:
        if len(self._keys) >= MAX_CACHED:
            self._keys.pop(next(iter(self._keys)))
        self._keys[record.token] = record

    async def lookup(self, token: str) -> KeyRecord | None:
        """Returns the key with this token from the cache or the store, None when there is none."""
        cached = self._keys.get(token)
        if cached is not None:
            return cached
        record = await self._store.get_key(token)
        if record is not None:
            self._remember(record)
        return record

    def revoked(self, token: str) -> None:
        """Notes that the store refused a key as revoked or gone, so it is refused at once from now on."""
        cached = self._keys.get(token)
        if cached is not None:
            self._keys[token] = cached.with_revoked(True)

    async def team(self, team_id: str) -> TeamRecord | None:
        """Returns a team, re-read from the store when the cached copy is older than team_ttl_s."""
        now = self._clock()
        cached = self._teams.get(team_id)
        if cached is not None and now - cached[0] < self._team_ttl:
            return cached[1]
        team = await self._store.get_team(team_id)
        if len(self._teams) >= MAX_CACHED:
            self._teams.pop(next(iter(self._teams)))
        self._teams[team_id] = (now, team)
        return team

    async def create(
        self,
        *,
        secret: str = "",
        limits: Allowance = NO_LIMITS,
        key_alias: str = "",
        team_id: str = "",
        app: str = "",
        duration: str = "",
        metadata: Mapping[str, str] | None = None,
    ) -> tuple[str, KeyRecord]:
        """Returns a new key's secret (a random sk-sy-... one unless given) and its stored record."""
        if secret and not secret.startswith("sk-"):
            raise ValueError("a chosen key must start with sk-")
        secret = secret or new_secret()
        now_ms = self.now_ms()
        expires_ms = now_ms + duration_seconds(duration) * 1000 if duration else 0
        record = KeyRecord(
            token=token_of(secret),
            key_prefix=prefix_of(secret),
            limits=limits,
            key_alias=key_alias,
            team_id=team_id,
            app=app,
            duration=duration,
            metadata=dict(metadata or {}),
            created_ms=now_ms,
            expires_ms=expires_ms,
        )
        if await self._store.get_key(record.token) is not None:
            raise ValueError("this key already exists")
        await self._store.put_key(record)
        self._remember(record)
        return secret, record

    async def find(self, key_or_token: str) -> KeyRecord | None:
        """Returns the key named by its secret or its token, read from the store (fresh revocation)."""
        token = token_of(key_or_token) if key_or_token.startswith("sk-") else key_or_token
        return await self._store.get_key(token)

    async def revoke(self, key_or_token: str) -> bool:
        """Revokes a key named by its secret or its token; returns whether it existed."""
        token = token_of(key_or_token) if key_or_token.startswith("sk-") else key_or_token
        done = await self._store.revoke(token)
        self.revoked(token)
        return done

    async def listing(self, team_id: str = "") -> list[KeyRecord]:
        """Returns every key (of one team when given), oldest first."""
        keys = await self._store.list_keys()
        chosen = [k for k in keys if not team_id or k.team_id == team_id]
        return sorted(chosen, key=lambda k: (k.created_ms, k.token))

    async def put_team(self, team: TeamRecord) -> TeamRecord:
        """Creates or replaces a team (an empty id gets a fresh one); returns it as stored."""
        if not team.team_id:
            team = replace(team, team_id=f"team-{secrets.token_hex(6)}")
        await self._store.put_team(team)
        self._teams[team.team_id] = (self._clock(), team)
        return team

    async def teams(self) -> list[TeamRecord]:
        return await self._store.list_teams()
