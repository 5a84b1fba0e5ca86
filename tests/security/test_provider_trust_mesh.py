"""Through the whole mesh (`switchyard up`, real processes): provider keys rotate without a restart, and
a provider whose replies fail the integrity check is failed over and has its circuit opened.

Rotation, for a key in a mounted file, in Vault (the KV v2 double) and in AWS Secrets Manager (moto's
server): a request succeeds with key A, the store changes to B while the fake provider starts accepting
only B, and after the refresh interval requests succeed again; the providers process never restarts.
Integrity, with SWITCHYARD_PROVIDERS_INTEGRITY_STRICT=1: the primary of a group answers naming another
model, so each call of it fails over to the backup, and the router opens its circuit after allowed_fails.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.security.provider_keys import AWS_ENV, REGION, SOURCES, VAULT_TOKEN, Stores, aws_server, new_key
from tests.security.vault_double import VaultDouble
from tests.support import Mesh, wait_until_sync

pytestmark = pytest.mark.mesh

MODELS = {"file": "fake-rot-file", "vault": "fake-rot-vault", "aws-sm": "fake-rot-aws"}
GROUPS = {"file": "rotating-file", "vault": "rotating-vault", "aws-sm": "rotating-aws"}
_FAKE = 'api_base: "$FAKE_URL/v1"'
IMPOSTOR = "".join(
    f"  - model_name: impostor\n"
    f"    litellm_params: {{model: openai/fake-impostor-{role}, {_FAKE}, api_key: sk-fake, order: {order}}}\n"
    f"    model_info: {{id: impostor-{role}}}\n"
    for order, role in ((1, "primary"), (2, "backup"))
)
ALLOWED_FAILS = 2


class Trust:
    """The mesh, the stores its rotating deployments read their keys from, and the keys they hold now."""

    def __init__(self, mesh: Mesh, stores: Stores, keys: dict[str, str]) -> None:
        self.mesh = mesh
        self.stores = stores
        self.keys = keys

    def require_current_keys(self, fake: httpx.Client) -> None:
        """Makes the fake provider accept, per rotating deployment, only the key its store holds now."""
        fake.delete("/_fake/scripts").raise_for_status()
        for source, key in self.keys.items():
            fake.post("/_fake/scripts", json={"model": MODELS[source], "api_key": key}).raise_for_status()

    def chat(self, group: str) -> httpx.Response:
        # A fresh prompt each time: a repeat would be answered from the cache, never reaching a provider.
        body = {"model": group, "messages": [{"role": "user", "content": f"hello {uuid.uuid4().hex}"}]}
        return httpx.post(f"{self.mesh.edge_url}/v1/chat/completions", json=body, timeout=20)


@pytest.fixture(scope="module")
def trust(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Trust]:
    workdir = Path(tmp_path_factory.mktemp("trust"))
    vault = VaultDouble(VAULT_TOKEN)
    with aws_server() as aws:
        stores = Stores(vault, aws, workdir)
        keys = {source: new_key(f"{source}-a") for source in SOURCES}
        for source, key in keys.items():
            stores.write(source, key)
        rotating = "".join(
            f"  - model_name: {GROUPS[s]}\n"
            f'    litellm_params: {{model: openai/{MODELS[s]}, {_FAKE}, api_key: "{stores.ref(s)}"}}\n'
            for s in SOURCES
        )
        env = {
            **AWS_ENV,
            "SWITCHYARD_PROVIDERS_SECRET_FILE_POLL_S": "0.1",
            "SWITCHYARD_PROVIDERS_SECRET_REFRESH_S": "0.5",
            "SWITCHYARD_PROVIDERS_SECRET_RETRY_S": "0.5",
            "VAULT_ADDR": vault.url,
            "VAULT_TOKEN": VAULT_TOKEN,
            "SWITCHYARD_PROVIDERS_AWS_REGION": REGION,
            "SWITCHYARD_PROVIDERS_AWS_ENDPOINT_URL": aws.url,
            "SWITCHYARD_PROVIDERS_INTEGRITY_STRICT": "1",
        }
        mesh = Mesh(
            workdir,
            env=env,
            request_timeout=10.0,
            extra_models=rotating + IMPOSTOR,
            allowed_fails=ALLOWED_FAILS,
        ).start()
        try:
            yield Trust(mesh, stores, keys)
        finally:
            mesh.stop()
            vault.close()


def _metric(mesh: Mesh, service: str, name: str, **labels: str) -> float:
    text = httpx.get(mesh.metrics_url(service), timeout=5).text
    wanted = set(labels.items())
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and wanted <= set(sample.labels.items())
    )


@pytest.mark.parametrize("source", SOURCES)
def test_a_key_rotated_in_its_store_reaches_the_mesh_without_a_restart(trust: Trust, source: str) -> None:
    with trust.mesh.fake_admin() as fake:
        trust.require_current_keys(fake)
        reply = trust.chat(GROUPS[source])
        assert reply.status_code == 200, reply.text
        new = new_key(f"{source}-b")
        trust.stores.write(source, new)
        trust.keys[source] = new
        trust.require_current_keys(fake)
        wait_until_sync(lambda: trust.chat(GROUPS[source]).status_code == 200, 20, f"a rotated {source} key to serve")
        calls = fake.get("/_fake/requests").json()
    assert [c["status"] for c in calls if c["body"].get("model") == MODELS[source]][-1] == 200
    # The providers process logs the change; its output reaches the mesh's reader a moment later.
    wait_until_sync(lambda: "changed: new calls of" in trust.mesh.output(), 10, f"the {source} key change to be logged")
    output = trust.mesh.output()
    assert output.count("providers listening on") == 1, "the providers service was not restarted"
    assert all(key not in output for key in trust.keys.values())


def test_a_provider_naming_another_model_fails_over_and_opens_its_circuit(trust: Trust) -> None:
    mesh = trust.mesh
    with mesh.fake_admin() as fake:
        fake.post("/_fake/scripts", json={"model": "fake-impostor-primary", "reply_model": "gpt-4o-mini"})
        replies: list[httpx.Response] = []

        def circuit_open() -> bool:
            # Each request tries the primary when its backoff allows, fails over to the backup, and
            # counts the primary's failure; more than allowed_fails of them in a minute open the circuit.
            replies.append(trust.chat("impostor"))
            return _metric(mesh, "router", "switchyard_router_circuit_state", deployment="impostor-primary") == 2

        wait_until_sync(circuit_open, 20, "the impostor's circuit to open")
        assert all(r.status_code == 200 for r in replies), [r.text for r in replies]
        assert all(r.json()["model"] == "fake-impostor-backup" for r in replies), "served by the backup"
        primary = [c for c in fake.get("/_fake/requests").json() if c["body"].get("model") == "fake-impostor-primary"]
        assert len(primary) > ALLOWED_FAILS
        fake.delete("/_fake/requests")
        assert trust.chat("impostor").status_code == 200
        called = [c["body"].get("model") for c in fake.get("/_fake/requests").json()]
    assert called == ["fake-impostor-backup"], "the open circuit keeps the impostor out of the plan"
    violations = _metric(
        mesh,
        "providers",
        "switchyard_providers_integrity_violations_total",
        deployment="impostor-primary",
        kind="model",
    )
    assert violations >= ALLOWED_FAILS
    assert "integrity violation (model) by deployment impostor-primary" in mesh.output()
