"""Redis that survives a node: the URL forms new_client reads, and the store plumbing on a real Redis Cluster.

URL mistakes are refused at start with the form they should take. On a cluster started here from
redis-server processes, Scripts loads its scripts on every master and runs calls whose keys live on
different masters in one batch; and when a master is killed, a RedisPolicy degrades, then comes back
on the promoted replica by itself.
"""

from __future__ import annotations

import pytest
import redis

from switchyard.redisutil import RedisPolicy, Scripts, Unreachable, new_client, one_slot
from tests.redis_ha import redis_cluster
from tests.support import wait_until

INCR = "return redis.call('INCR', KEYS[1])"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("redis+sentinel://127.0.0.1:26379", "/<master>"),
        ("redis+sentinel://127.0.0.1:26379/primary/zero", "/<master>[/<db>]"),
        ("redis+sentinel://127.0.0.1/primary", "host:port pairs"),
        ("redis+cluster://127.0.0.1:7000,127.0.0.1", "host:port pairs"),
        ("redis+cluster://127.0.0.1:7000/3", "database 0 only"),
    ],
)
def test_a_malformed_url_is_refused_with_the_form_it_should_take(url: str, says: str) -> None:
    with pytest.raises(ValueError) as refused:
        new_client(url, 0.5)
    assert says in str(refused.value) and url in str(refused.value)


def test_a_refused_url_does_not_show_its_password() -> None:
    with pytest.raises(ValueError) as refused:
        new_client("redis+cluster://app:s3cret@127.0.0.1:7000/1", 0.5)
    assert "s3cret" not in str(refused.value) and "127.0.0.1:7000" in str(refused.value)


def test_one_slot_wraps_a_prefix_without_a_hash_tag() -> None:
    assert one_slot("switchyard:cache:") == "{switchyard:cache:}"
    assert one_slot("tenant:{eu}:cache:") == "tenant:{eu}:cache:"
    # An empty tag does not pick a slot in Redis Cluster: the prefix is wrapped.
    assert one_slot("odd:{}:") == "{odd:{}:}"


@pytest.mark.redis
@pytest.mark.slow
async def test_scripts_and_a_policy_on_a_cluster_that_loses_a_master() -> None:
    with redis_cluster(masters=3, replicas_each=1) as cluster:
        client = new_client(cluster.url, 1.0, decode=True)
        scripts = Scripts(client, [INCR])
        policy = RedisPolicy(client, "cluster store", timeout_s=1.0, retry_s=0.2, local="locally", shared="shared")
        # Keys whose slots sit on different masters, in one batch; each script's key names its node.
        keys = [f"{{{tag}}}:n" for tag in ("a", "b", "c", "d", "e", "f")]
        try:
            first = await policy.call(lambda: scripts.run([(INCR, [k], []) for k in keys]))
            assert first == [1] * len(keys)
            assert sum(n > 0 for n in cluster.keys_per_master()) >= 2, cluster.keys_per_master()
            # Every master forgets its scripts: the next run loads them again, on every master.
            for master in cluster.masters:
                with redis.Redis(host="127.0.0.1", port=master.port) as node:
                    node.script_flush()
            assert await policy.call(lambda: scripts.run([(INCR, [k], []) for k in keys])) == [2] * len(keys)

            cluster.fail_over(0)
            refused: list[Unreachable] = []

            async def shared_again() -> bool:
                try:
                    await policy.call(lambda: scripts.run([(INCR, [k], []) for k in keys]))
                except Unreachable as exc:
                    refused.append(exc)
                    return False
                return not policy.degraded

            await wait_until(shared_again, timeout=30, what="the store back on the cluster after the failover")
            # The killed master was felt (the store served locally), then left behind without a restart.
            assert refused, "no call met the killed master"
        finally:
            await policy.close()
            await client.aclose()
