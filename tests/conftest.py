"""Shared fixtures: the whole mesh as real processes, started once per test session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests import support
from tests.support import Mesh

# Fixtures that start processes or need Redis mark the tests using them (tests/support.require_mark
# fails a test that starts either unmarked, so `make test-fast` can trust the marks).
_MARKS_BY_FIXTURE = {
    "mesh": "mesh",
    "fake_admin": "mesh",
    "redis_url": "redis",
    "redis_prefix": "redis",
    "postgres_url": "postgres",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        names = getattr(item, "fixturenames", ())
        for mark in {_MARKS_BY_FIXTURE[name] for name in names if name in _MARKS_BY_FIXTURE}:
            item.add_marker(mark)


def pytest_runtest_setup(item: pytest.Item) -> None:
    support.CURRENT_MARKS = {mark.name for mark in item.iter_markers()}


@pytest.fixture(scope="session")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    """The gateway on its test config, with the built-in fake provider scripted per test."""
    started = Mesh(Path(tmp_path_factory.mktemp("mesh"))).start()
    yield started
    started.stop()


@pytest.fixture
def fake_admin(mesh: Mesh) -> Iterator[httpx.Client]:
    """An HTTP client on the mesh's fake provider; scripts and the request log are cleared after each test."""
    with mesh.fake_admin() as client:
        yield client


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real Redis: REDIS_URL when it answers, else a throwaway redis-server for the session."""
    from tests.redis_support import shared_redis

    with shared_redis() as url:
        yield url


@pytest.fixture
def redis_prefix(request: pytest.FixtureRequest) -> str:
    """A key prefix of this test's own on the shared Redis."""
    from tests.redis_support import unique_prefix

    return unique_prefix(request.node.name[:40])


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A real PostgreSQL server: POSTGRES_URL (or the local one) when it answers, else a throwaway cluster."""
    from tests.postgres_support import shared_postgres

    with shared_postgres() as url:
        yield url
