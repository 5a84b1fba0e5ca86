"""A semantic tier that did not search is said so through the edge: x-switchyard-cache "miss; semantic=skipped"."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import Mesh, wait_until_sync

pytestmark = pytest.mark.mesh


@pytest.fixture(scope="module")
def exact_only(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    mesh = Mesh(Path(tmp_path_factory.mktemp("exact-only")), switchyard_extra="  cache: {semantic: false}\n").start()
    yield mesh
    mesh.stop()


def test_a_comparable_request_the_semantic_tier_did_not_search_says_so(exact_only: Mesh) -> None:
    system = {"role": "system", "content": f"You are terse ({uuid.uuid4().hex[:8]})."}

    def ask(text: str) -> str:
        body = {"model": "default", "messages": [system, {"role": "user", "content": text}]}
        reply = httpx.post(f"{exact_only.edge_url}/v1/chat/completions", json=body, timeout=10)
        assert reply.status_code == 200, reply.text
        return str(reply.headers["x-switchyard-cache"])

    assert ask("What is the capital of France?") == "miss; semantic=skipped"
    wait_until_sync(lambda: ask("What is the capital of France?") == "hit; tier=exact", 5.0, "the exact hit")
    assert ask("Could you tell me the capital of France?") == "miss; semantic=skipped"
