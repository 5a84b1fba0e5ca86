"""The key ring: one read per watched location however many deployments share it, files re-read only
when their stamp moves, failed reads retried while the last good value serves; and what a key's shape
says about its scope."""

from __future__ import annotations

import os
import threading
from collections import Counter
from pathlib import Path

import pytest

from switchyard.config.secrets import SecretRef
from switchyard.services.providers.adapters.base import Deployment
from switchyard.services.providers.credentials.ring import KeyRing
from switchyard.services.providers.credentials.scope import scope_warning
from switchyard.services.providers.credentials.sources import FileSource, Payload, SourceError


class Store:
    """A secret manager's contents in memory, as a Source; `down` makes every read fail."""

    name = "vault"

    def __init__(self) -> None:
        self.secrets: dict[str, Payload] = {}
        self.reads: Counter[str] = Counter()
        self.down = False
        self._lock = threading.Lock()

    def read(self, location: str) -> Payload:
        with self._lock:
            self.reads[location] += 1
        if self.down:
            raise SourceError("Vault answered VaultDown")
        if location not in self.secrets:
            raise SourceError(f"Vault answered InvalidPath for {location}")
        return self.secrets[location]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _deployment(name: str, ref: SecretRef) -> Deployment:
    return Deployment(id=name, group="g", provider="openai", model="m", api_base="http://x", key_ref=ref)


def _ring(store: Store, clock: Clock) -> KeyRing:
    return KeyRing(
        {"vault": store, "file": FileSource()}, file_poll_s=1, refresh_s=60, retry_s=10, timeout_s=2, clock=clock
    )


async def test_a_location_shared_by_deployments_is_read_once_and_refreshed_on_its_interval() -> None:
    store, clock = Store(), Clock()
    store.secrets["secret/data/llm"] = {"openai": "sk-proj-1", "anthropic": "sk-ant-api-1"}
    ring = _ring(store, clock)
    openai = SecretRef("vault", "secret/data/llm", "openai")
    anthropic = SecretRef("vault", "secret/data/llm", "anthropic")
    ring.track([_deployment("a", openai), _deployment("b", anthropic), _deployment("c", openai)])
    assert ring.lookup(openai) == (None, "its key from vault secret/data/llm#openai has not been read yet")
    assert await ring.refresh() is True
    assert ring.lookup(openai) == ("sk-proj-1", "") and ring.lookup(anthropic) == ("sk-ant-api-1", "")
    assert store.reads["secret/data/llm"] == 1
    clock.now += 59
    assert await ring.refresh() is False and store.reads["secret/data/llm"] == 1, "not due yet"
    store.secrets["secret/data/llm"] = {"openai": "sk-proj-2", "anthropic": "sk-ant-api-1"}
    clock.now += 1
    assert await ring.refresh() is True
    assert ring.lookup(openai) == ("sk-proj-2", "") and store.reads["secret/data/llm"] == 2


async def test_a_failed_read_keeps_the_last_good_value_and_is_retried_sooner() -> None:
    store, clock = Store(), Clock()
    store.secrets["secret/data/llm"] = {"openai": "sk-proj-1"}
    ring = _ring(store, clock)
    ref = SecretRef("vault", "secret/data/llm", "openai")
    ring.track([_deployment("a", ref)])
    await ring.refresh()
    store.down = True
    clock.now += 60
    assert await ring.refresh() is False
    assert ring.lookup(ref) == ("sk-proj-1", "")
    clock.now += 10
    await ring.refresh()
    assert store.reads["secret/data/llm"] == 3, "retried after retry_s, not refresh_s"
    missing = SecretRef("vault", "secret/data/none", "openai")
    ring.track([_deployment("a", ref), _deployment("b", missing)])
    await ring.refresh()
    assert ring.lookup(missing) == (
        None,
        "its key from vault secret/data/none#openai has not been read yet: Vault answered VaultDown",
    )


async def test_a_file_is_read_again_only_when_its_stamp_moves(tmp_path: Path) -> None:
    store, clock = Store(), Clock()
    ring = _ring(store, clock)
    path = tmp_path / "key"
    path.write_text("sk-proj-1\n")
    ref = SecretRef("file", str(path))
    ring.track([_deployment("a", ref)])
    assert await ring.refresh() is True and ring.lookup(ref) == ("sk-proj-1", "")
    clock.now += 1
    assert await ring.refresh() is False
    # Kubernetes swaps a symlink to a new directory: the path now leads to another inode.
    fresh = tmp_path / "key.new"
    fresh.write_text("sk-proj-2\n")
    os.replace(fresh, path)
    clock.now += 1
    assert await ring.refresh() is True and ring.lookup(ref) == ("sk-proj-2", "")
    path.unlink()
    clock.now += 1
    assert await ring.refresh() is False
    assert ring.lookup(ref) == ("sk-proj-2", ""), "a file that disappears keeps its last good key"


def test_forgotten_references_are_dropped() -> None:
    ring = _ring(Store(), Clock())
    ref = SecretRef("vault", "secret/data/llm", "openai")
    ring.track([_deployment("a", ref)])
    ring.track([])
    assert ring.lookup(ref)[0] is None


@pytest.mark.parametrize(
    ("provider", "key", "said"),
    [
        ("openai", "sk-proj-" + "a" * 40, None),
        ("openai", "sk-svcacct-" + "a" * 40, None),
        ("openai", "sk-" + "a1B" * 16, "OpenAI user key"),
        ("openai", "sk-None-" + "a" * 40, "OpenAI user key"),
        ("openai", "sk-admin-" + "a" * 40, "OpenAI admin key"),
        ("openai", "sk-fake", None),
        ("anthropic", "sk-ant-admin01-" + "a" * 40, "Anthropic Admin API key"),
        ("anthropic", "sk-ant-api03-" + "a" * 40, None),
        ("gemini", "AIza" + "a" * 35, None),
        ("vllm", "sk-" + "a" * 48, None),
    ],
)
def test_keys_wider_than_a_gateway_needs_are_named_by_kind(provider: str, key: str, said: str | None) -> None:
    warning = scope_warning(provider, key)
    assert (warning is None) if said is None else (warning is not None and said in warning)
    assert warning is None or key not in warning
