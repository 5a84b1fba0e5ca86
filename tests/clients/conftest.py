"""The gateway the client tests call: the mesh with auth on (one virtual key), started once for the
Python and the Node client alike, and the variables that tell a client's own tests where it is."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import Mesh, tls_dir

API_KEY = "sk-client-tests-0123456789"
KEYS = f"  governance:\n    keys:\n      - {{key: {API_KEY}, models: [default, solo]}}\n"


@pytest.fixture(scope="package")
def keyed_mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    """The test mesh, where every call needs the virtual key API_KEY."""
    mesh = Mesh(Path(tmp_path_factory.mktemp("clients")), switchyard_extra=KEYS).start()
    yield mesh
    mesh.stop()


@pytest.fixture
def client_env(keyed_mesh: Mesh) -> dict[str, str]:
    """The environment for a client's own tests (clients/python/tests/conftest.py names the variables):
    the router's address, the key, the `client` certificate's directory and the fake provider."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("SWITCHYARD_", "PYTHON", "VIRTUAL_ENV"))}
    return {
        **inherited,
        "SWITCHYARD_TARGET": keyed_mesh.router_target,
        "SWITCHYARD_API_KEY": API_KEY,
        "SWITCHYARD_TLS_DIR": str(tls_dir()),
        "SWITCHYARD_FAKE_URL": keyed_mesh.fake_url,
    }
