"""Builds the router's governance from the config: the store, the config's keys and teams, the ledger.

Auth is on when general_settings.master_key is set or the config lists keys; off (the embedded
default), requests need no key and only the ledger applies. The config's keys and teams are written
to the store at start, so every replica knows them; a key revoked through the admin API stays
revoked across restarts.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import replace

from switchyard.config import Config
from switchyard.config.governance import BudgetConfig, GovernanceSection, duration_seconds
from switchyard.runtime.errors import SwitchyardError
from switchyard.services.router.config import Secrets
from switchyard.services.router.governance.alerts import AlertSink
from switchyard.services.router.governance.governor import Governor
from switchyard.services.router.governance.keys import Keys
from switchyard.services.router.governance.ledger import Ledger
from switchyard.services.router.governance.memory import MemoryGovernance
from switchyard.services.router.governance.model import Allowance, Cap, KeyRecord, TeamRecord
from switchyard.services.router.governance.redis_store import RedisGovernance
from switchyard.services.router.governance.store import GovernanceStore
from switchyard.services.router.governance.tally import Governance
from switchyard.services.router.state import StateOptions

log = logging.getLogger(__name__)


def caps_of(budgets: Sequence[BudgetConfig]) -> tuple[Cap, ...]:
    return tuple(Cap(b.window, b.hard_usd, b.soft_usd) for b in budgets)


def config_records(
    section: GovernanceSection, secrets: Secrets, now_ms: int
) -> tuple[list[KeyRecord], list[TeamRecord]]:
    """Returns the keys and teams the config lists, as stored."""
    keys = []
    for spec, (token, prefix) in zip(section.keys, secrets.keys, strict=True):
        limits = Allowance(tuple(spec.models), spec.rpm_limit, spec.tpm_limit, caps_of(spec.all_budgets()))
        expires = now_ms + duration_seconds(spec.duration) * 1000 if spec.duration else 0
        keys.append(
            KeyRecord(
                token=token,
                key_prefix=prefix,
                limits=limits,
                key_alias=spec.key_alias,
                team_id=spec.team_id,
                app=spec.app,
                duration=spec.duration or "",
                metadata=dict(spec.metadata),
                created_ms=now_ms,
                expires_ms=expires,
            )
        )
    teams = [
        TeamRecord(
            team.team_id,
            team.team_alias,
            Allowance(tuple(team.models), team.rpm_limit, team.tpm_limit, caps_of(team.all_budgets())),
            dict(team.metadata),
        )
        for team in section.teams
    ]
    return keys, teams


async def open_governance(
    config: Config, secrets: Secrets, ledger: Ledger, *, prefix: str, options: StateOptions
) -> Governance:
    """Returns the governance of a router: in Redis at the config's state URL, else in this process."""
    section = config.switchyard.governance
    url = config.state_url()
    store: GovernanceStore = RedisGovernance.connect(url, prefix, options) if url else MemoryGovernance()
    keys = Keys(store)
    records, teams = config_records(section, secrets, int(time.time() * 1000))
    try:
        await keys.seed(records, teams)
    except SwitchyardError as err:
        log.warning("governance: could not store the config's keys and teams: %s", err.message)
    governor = Governor(
        store,
        keys,
        AlertSink(section.alert_webhook),
        master_token=secrets.master_token,
        auth=auth_on(section, secrets),
        apps=apps_of(section),
        output_tokens=section.estimate_output_tokens,
        min_output_tokens=section.min_output_tokens,
    )
    return Governance(governor, ledger)


def auth_on(section: GovernanceSection, secrets: Secrets) -> bool:
    return secrets.master_token is not None or bool(section.keys)


def apps_of(section: GovernanceSection) -> dict[str, tuple[Cap, ...]]:
    return {name: caps_of(app.all_budgets()) for name, app in section.apps.items()}


async def reconfigure(governance: Governance, config: Config, secrets: Secrets) -> None:
    """Applies a reloaded config's governance: its keys and teams are stored (a key no longer listed is
    revoked), and the master key, apps' budgets, output estimate and floor, and alert webhook take effect."""
    section = config.switchyard.governance
    governor = governance.governor
    before = governor.keys.configured()
    records, teams = config_records(section, secrets, int(time.time() * 1000))
    # A key the file already listed keeps when it was made and when it expires.
    records = [
        replace(r, created_ms=before[r.token].created_ms, expires_ms=before[r.token].expires_ms)
        if r.token in before and r.duration == before[r.token].duration
        else r
        for r in records
    ]
    dropped = set(before) - {record.token for record in records}
    await governor.keys.seed(records, teams)
    for token in sorted(dropped):
        await governor.keys.revoke(token)
    if dropped:
        log.warning("governance: %d key(s) no longer in the config file are revoked", len(dropped))
    await governor.reconfigure(
        master_token=secrets.master_token,
        auth=auth_on(section, secrets),
        apps=apps_of(section),
        output_tokens=section.estimate_output_tokens,
        min_output_tokens=section.min_output_tokens,
        webhook=section.alert_webhook,
    )
