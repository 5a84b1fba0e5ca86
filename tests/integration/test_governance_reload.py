"""Governance follows the config file: keys added, keys removed and budgets changed take effect on reload."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.redis_support import unique_prefix
from tests.support import Mesh, wait_until_sync

pytestmark = pytest.mark.mesh

MASTER = "sk-test-master-reload-0123"
KEPT = "sk-test-kept-0123456789abcd"
DROPPED = "sk-test-dropped-0123456789a"
ADDED = "sk-test-added-0123456789abc"


def governance(redis_url: str, *lines: str) -> str:
    return f'  redis_url: "{redis_url}"\n  governance:\n    keys:\n' + "".join(f"      - {line}\n" for line in lines)


def status(mesh: Mesh, key: str) -> int:
    reply = httpx.post(
        f"{mesh.edge_url}/v1/chat/completions",
        headers={"authorization": f"Bearer {key}", "cache-control": "no-cache, no-store"},
        json={"model": "default", "messages": [{"role": "user", "content": "hello"}], "max_tokens": 16},
        timeout=30,
    )
    return reply.status_code


def test_a_reloaded_config_adds_revokes_and_limits_keys(tmp_path: Path, redis_url: str) -> None:
    before = governance(redis_url, f"{{key: {KEPT}, team_id: search}}", f"{{key: {DROPPED}}}")
    mesh = Mesh(
        tmp_path,
        env={"SWITCHYARD_ROUTER_STATE_PREFIX": unique_prefix("governance-reload")},
        general_settings=f"general_settings:\n  master_key: {MASTER}\n",
        switchyard_extra=before,
    ).start()
    try:
        assert (status(mesh, KEPT), status(mesh, DROPPED), status(mesh, ADDED)) == (200, 200, 401)

        # The kept key may now use one model only; the dropped key leaves the file; a new key arrives.
        after = governance(redis_url, f"{{key: {KEPT}, team_id: search, models: [solo]}}", f"{{key: {ADDED}}}")
        mesh.config_path.write_text(mesh.render(switchyard_extra=after))
        wait_until_sync(lambda: status(mesh, ADDED) == 200, 20, "the added key to be accepted")
        assert status(mesh, DROPPED) == 401, "a key removed from the file is revoked"
        assert status(mesh, KEPT) == 403, "the kept key's new model list applies"
    finally:
        mesh.stop()
