"""The meshes the security tests attack: an open one (auth off, the embedded default's posture) with short
edge timeouts and small caps, and a governed one (a master key) with a hostile upstream among its models."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.security.upstream import LEAKED_KEY, LeakyUpstream
from tests.support import Mesh

# The open mesh's edge limits, small so a test can reach them quickly.
HEADER_TIMEOUT_S = 2.0
BODY_TIMEOUT_S = 2.0
MAX_CONNECTIONS = 256
MAX_REQUESTS = 24
ALLOWED_ORIGIN = "https://app.example"
MASTER_KEY = f"sk-master-{uuid.uuid4().hex}"

PRICED = (
    "  - model_name: priced\n"
    '    litellm_params: {model: openai/fake-priced, api_base: "$FAKE_URL/v1", api_key: sk-fake}\n'
    "    model_info: {input_cost_per_token: 0.000002, output_cost_per_token: 0.00001}\n"
)


@pytest.fixture(scope="session")
def open_mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    """The gateway with auth off, a 2 s header and body timeout, 256 connections and 24 requests at most."""
    env = {
        "SWITCHYARD_EDGE_HEADER_TIMEOUT": str(HEADER_TIMEOUT_S),
        "SWITCHYARD_EDGE_BODY_TIMEOUT": str(BODY_TIMEOUT_S),
        "SWITCHYARD_EDGE_MAX_CONNECTIONS": str(MAX_CONNECTIONS),
        "SWITCHYARD_EDGE_MAX_REQUESTS": str(MAX_REQUESTS),
        "SWITCHYARD_EDGE_ALLOWED_ORIGINS": ALLOWED_ORIGIN,
    }
    mesh = Mesh(Path(tmp_path_factory.mktemp("open")), env=env).start()
    yield mesh
    mesh.stop()


@pytest.fixture(scope="session")
def leaky() -> Iterator[LeakyUpstream]:
    upstream = LeakyUpstream()
    yield upstream
    upstream.close()


@pytest.fixture(scope="session")
def governed_mesh(tmp_path_factory: pytest.TempPathFactory, leaky: LeakyUpstream) -> Iterator[Mesh]:
    """The gateway with a master key, a priced model, and `leaky`: a deployment whose upstream echoes its key."""
    models = PRICED + (
        "  - model_name: leaky\n"
        f'    litellm_params: {{model: openai/leaky, api_base: "{leaky.url}", api_key: {LEAKED_KEY}}}\n'
    )
    general = f"general_settings:\n  master_key: {MASTER_KEY}\n"
    mesh = Mesh(Path(tmp_path_factory.mktemp("governed")), extra_models=models, general_settings=general).start()
    yield mesh
    mesh.stop()


@pytest.fixture
def admin(governed_mesh: Mesh) -> Iterator[httpx.Client]:
    """An HTTP client on the governed edge carrying the master key."""
    headers = {"Authorization": f"Bearer {MASTER_KEY}"}
    with httpx.Client(base_url=governed_mesh.edge_url, headers=headers, timeout=10) as client:
        yield client
