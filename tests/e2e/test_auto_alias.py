"""The `auto` alias: easy requests go to the cheap group, hard ones to the strong group."""

from __future__ import annotations

import openai
import pytest

from tests.support import Mesh

pytestmark = pytest.mark.mesh

HARD = (
    "Let G be a finite group of order p^2 q where p and q are distinct primes with p < q. Prove that G has a "
    "normal Sylow subgroup, and classify all such groups up to isomorphism when q = 1 (mod p) and p^2 does not "
    "divide q - 1. Next, consider the splitting field over Q of x^4 - 2x^2 - 1, compute its Galois group, "
    "determine every intermediate field and show which of them are normal over Q. Finally, derive a closed form "
    "for the number of conjugacy classes of G in terms of p and q, justifying each step rigorously with the "
    "class equation and the Sylow theorems, and explain how the answer changes when p = 2."
)


def _deployment(mesh: Mesh, text: str) -> str:
    client = openai.OpenAI(base_url=f"{mesh.edge_url}/v1", api_key="sk-sy-test", max_retries=0)
    # no-cache rather than a nonce in the prompt: the prompt itself is what the policy judges.
    raw = client.chat.completions.with_raw_response.create(
        model="auto", messages=[{"role": "user", "content": text}], extra_headers={"cache-control": "no-cache"}
    )
    assert raw.parse().choices[0].message.content
    return raw.headers["x-switchyard-deployment"]


def test_easy_request_goes_to_the_cheap_group(mesh: Mesh) -> None:
    assert _deployment(mesh, "Hi! How are you today?").startswith("solo-")


def test_hard_request_goes_to_the_strong_group(mesh: Mesh) -> None:
    assert _deployment(mesh, HARD).startswith("failover-")


def test_aliases_are_listed_as_models(mesh: Mesh) -> None:
    client = openai.OpenAI(base_url=f"{mesh.edge_url}/v1", api_key="sk-sy-test", max_retries=0)
    assert "auto" in {m.id for m in client.models.list()}
