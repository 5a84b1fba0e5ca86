"""Virtual keys: config parsing (hashed at load), creation, lookup, revocation seen by every replica, auth errors."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from switchyard.common.v1 import errors_pb2 as E
from switchyard.config import ConfigError, ModelEntry, parse_config
from switchyard.config.governance import token_of
from switchyard.runtime.errors import SwitchyardError
from switchyard.services.router.config import governance_secrets
from switchyard.services.router.governance.alerts import AlertSink
from switchyard.services.router.governance.governor import Governor
from switchyard.services.router.governance.keys import Keys
from switchyard.services.router.governance.memory import MemoryGovernance
from switchyard.services.router.governance.model import Allowance, Cap, TeamRecord
from switchyard.services.router.governance.redis_store import RedisGovernance
from switchyard.services.router.governance.setup import config_records
from switchyard.services.router.governance.store import GovernanceStore
from switchyard.services.router.state import StateOptions

BASE = """model_list:
  - model_name: gpt
    litellm_params: {model: openai/gpt-4o, api_key: sk-upstream}
    model_info: {input_cost_per_token: 0.000002, output_cost_per_token: 0.00001}
general_settings:
  master_key: os.environ/SY_MASTER
switchyard:
  governance:
"""


def test_config_keys_are_hashed_at_load_and_never_kept() -> None:
    config = parse_config(
        BASE
        + """    keys:
      - {key: sk-literal-secret-123, team_id: research, models: [gpt], max_budget: 5, budget_duration: 1d}
      - {key: os.environ/SY_KEY, soft_budget: 1, max_budget: 2}
    teams:
      - {team_id: research, rpm_limit: 10, budgets: [{window: monthly, hard_usd: 100}]}
"""
    )
    assert "sk-literal-secret-123" not in repr(config)
    first, second = config.switchyard.governance.keys
    assert first.token == token_of("sk-literal-secret-123") and first.key_prefix == "sk-literal-s"
    assert second.key_ref == "os.environ/SY_KEY" and not second.token
    secrets = governance_secrets(config, {"SY_MASTER": "sk-master", "SY_KEY": "sk-from-env-456"})
    assert secrets.master_token == token_of("sk-master")
    keys, teams = config_records(config.switchyard.governance, secrets, 0)
    assert keys[0].limits.budgets == (Cap("daily", 5.0, 0.0),)
    assert keys[1].token == token_of("sk-from-env-456")
    assert keys[1].limits.budgets == (Cap("", 2.0, 1.0),)  # no duration: a budget that never resets
    assert teams[0].limits.rpm_limit == 10 and teams[0].limits.budgets == (Cap("monthly", 100.0, 0.0),)


def test_a_bad_key_entry_names_its_line() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(BASE + "    keys:\n      - {key: not-a-key}\n")
    assert "switchyard.governance.keys[0]" in str(caught.value) and ":10:" in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        parse_config(BASE + "    teams:\n      - {team_id: t, budgets: [{window: fortnightly}]}\n")
    assert "window" in str(caught.value)


def test_a_missing_master_key_variable_fails_at_start() -> None:
    config = parse_config(BASE + "    estimate_output_tokens: 10\n")
    with pytest.raises(ConfigError, match="SY_MASTER"):
        governance_secrets(config, {})


@pytest.fixture(params=["memory", "redis"])
async def stores(
    request: pytest.FixtureRequest, redis_url: str, redis_prefix: str
) -> AsyncIterator[tuple[GovernanceStore, GovernanceStore]]:
    """Two replicas' stores: one shared in-memory store, or two Redis clients on one Redis."""
    if request.param == "memory":
        shared = MemoryGovernance()
        yield shared, shared
        return
    options = StateOptions(timeout_s=1.0)
    one, two = (
        RedisGovernance.connect(redis_url, redis_prefix, options),
        RedisGovernance.connect(redis_url, redis_prefix, options),
    )
    yield one, two
    client = aioredis.Redis.from_url(redis_url)
    found = [k async for k in client.scan_iter(match=f"{redis_prefix}*")]
    if found:
        await client.delete(*found)
    await client.aclose()
    await one.close()
    await two.close()


def governor(store: GovernanceStore, master: str = "sk-master") -> Governor:
    return Governor(store, Keys(store), AlertSink(""), master_token=token_of(master), auth=True)


async def test_keys_are_created_found_listed_and_revoked_on_every_replica(
    stores: tuple[GovernanceStore, GovernanceStore],
) -> None:
    one, two = governor(stores[0]), governor(stores[1])
    secret, record = await one.keys.create(team_id="research", limits=Allowance(models=("gpt",)), duration="1h")
    assert secret.startswith("sk-sy-") and len(secret) == 38
    assert record.token == token_of(secret) and record.key_prefix == secret[:12]
    assert record.expires_ms > time.time() * 1000
    # The other replica knows it on first use, and caches it.
    identity = await two.authenticate(f"Bearer {secret}")
    assert identity is not None and identity.team_id == "research" and identity.tenant == "team:research"
    assert (await two.admit(identity, [], 10, 10, 60)) is not None
    chosen, _ = await one.keys.create(secret="sk-my-own-key-789", app="billing")
    assert {k.key_prefix for k in await two.keys.listing()} == {secret[:12], chosen[:12]}
    assert [k.key_prefix for k in await two.keys.listing("research")] == [secret[:12]]
    # Revoked on one replica: the other refuses it on its very next request, cache notwithstanding.
    assert await one.keys.revoke(secret)
    with pytest.raises(SwitchyardError) as caught:
        await two.admit(identity, [], 10, 10, 60)
    assert caught.value.reason == E.ERROR_REASON_UNAUTHENTICATED
    with pytest.raises(SwitchyardError):
        await two.authenticate(f"Bearer {secret}")
    info = await one.keys.find(record.token)
    assert info is not None and info.revoked


async def test_missing_bad_and_expired_keys_are_unauthenticated(
    stores: tuple[GovernanceStore, GovernanceStore],
) -> None:
    gov = governor(stores[0])
    for header in ("", "Bearer ", "Bearer sk-nobody"):
        with pytest.raises(SwitchyardError) as caught:
            await gov.authenticate(header)
        assert caught.value.reason == E.ERROR_REASON_UNAUTHENTICATED
        assert "sk-nobody" not in caught.value.message
    secret, _ = await gov.keys.create(duration="1s")
    clock = Governor(stores[0], gov.keys, AlertSink(""), master_token=None, auth=True, clock=lambda: time.time() + 5)
    with pytest.raises(SwitchyardError):
        await clock.authenticate(f"Bearer {secret}")
    master = await gov.authenticate("Bearer sk-master")
    assert master is not None and master.master and master.team_id == "admin"
    assert await gov.admit(master, [], 10, 10, 60) is None  # unlimited: nothing held


async def test_models_outside_the_key_or_team_list_are_forbidden(
    stores: tuple[GovernanceStore, GovernanceStore],
) -> None:
    gov = governor(stores[0])
    await gov.keys.put_team(TeamRecord("narrow", limits=Allowance(models=("gpt",))))
    secret, _ = await gov.keys.create(team_id="narrow", limits=Allowance(models=("gpt", "claude")))
    identity = await gov.authenticate(f"Bearer {secret}")
    gov.permit(identity, "gpt")
    for model in ("claude", "gemini"):  # claude: the key allows it, its team does not
        with pytest.raises(SwitchyardError) as caught:
            gov.permit(identity, model)
        assert caught.value.reason == E.ERROR_REASON_PERMISSION_DENIED


async def test_budget_and_rate_refusals_say_why_and_when(stores: tuple[GovernanceStore, GovernanceStore]) -> None:
    gov = governor(stores[0])
    entry = ModelEntry.model_validate(
        {
            "model_name": "gpt",
            "litellm_params": {"model": "openai/gpt-4o"},
            "model_info": {"input_cost_per_token": 1e-6, "output_cost_per_token": 1e-5},
        }
    )
    secret, _ = await gov.keys.create(limits=Allowance(rpm_limit=2, budgets=(Cap("daily", 0.005),)))
    identity = await gov.authenticate(f"Bearer {secret}")
    # 5000 prompt tokens alone cost the whole $0.005 budget: not even one output token would be paid for.
    with pytest.raises(SwitchyardError) as caught:
        await gov.admit(identity, [entry], 5000, 1000, 60)
    assert caught.value.reason == E.ERROR_REASON_BUDGET_EXCEEDED
    assert caught.value.retry_after_s is not None and 0 < caught.value.retry_after_s <= 86_400
    assert secret not in caught.value.message and secret[:12] in caught.value.message
    # $0.0011 fits, twice; a refused request takes no rpm slot, so the third is the one over rpm 2.
    assert await gov.admit(identity, [entry], 100, 100, 60) is not None
    assert await gov.admit(identity, [entry], 100, 100, 60) is not None
    with pytest.raises(SwitchyardError) as caught:
        await gov.admit(identity, [entry], 100, 100, 60)
    assert caught.value.reason == E.ERROR_REASON_RATE_LIMITED
    assert caught.value.retry_after_s is not None and caught.value.retry_after_s > 50
