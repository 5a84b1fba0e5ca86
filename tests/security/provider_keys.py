"""What the key rotation tests share: the secret stores as real servers on loopback (the Vault double,
moto's AWS server), writing a key into each store, and the providers service run in-process the way
its `__main__` wires it (a deployment table over a key ring, republished into the servicer)."""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import hvac
from grpc import aio

from switchyard.common.v1 import chat_pb2
from switchyard.config import parse_config
from switchyard.providers.v1 import providers_pb2, providers_pb2_grpc
from switchyard.runtime.metrics import REGISTRY
from switchyard.runtime.telemetry import init_telemetry
from switchyard.services.providers.config import ProviderSettings
from switchyard.services.providers.server import build, new_client_pool, publisher
from switchyard.services.providers.table import DeploymentTable, key_ring
from tests.security.vault_double import VaultDouble

VAULT_TOKEN = "hvs.switchyard-test-token"
REGION = "us-east-1"
# boto3's credential chain reads these; set, it never looks further (no instance metadata, no profile).
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}
SOURCES = ("file", "vault", "aws-sm")


def new_key(label: str) -> str:
    """Returns a fresh project-scoped OpenAI-style key (no scope warning), unique to this test run."""
    return f"sk-proj-{label}-{uuid.uuid4().hex}"


@dataclass
class AwsServer:
    """moto's AWS server on loopback and a Secrets Manager client on it."""

    url: str
    client: Any


@contextlib.contextmanager
def aws_server() -> Iterator[AwsServer]:
    """Runs moto's server mode (real HTTP on a free loopback port) with test credentials in the environment."""
    from moto.server import ThreadedMotoServer

    with _environment(AWS_ENV):
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        url = f"http://{host}:{port}"
        try:
            yield AwsServer(url, boto3.client("secretsmanager", region_name=REGION, endpoint_url=url))
        finally:
            server.stop()


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class Stores:
    """The three watched stores of one test: a secret file, a Vault path, an AWS secret, each named uniquely."""

    def __init__(self, vault: VaultDouble, aws: AwsServer, workdir: Path) -> None:
        self.vault = vault
        self.aws = aws
        name = uuid.uuid4().hex[:12]
        self.file = workdir / f"openai-{name}"
        self.vault_path = f"switchyard/{name}"
        self.aws_name = f"switchyard/{name}"
        self._vault = hvac.Client(url=vault.url, token=VAULT_TOKEN)

    def ref(self, source: str) -> str:
        """Returns the api_key reference of a store."""
        return {
            "file": f"file:{self.file}",
            "vault": f"vault:secret/data/{self.vault_path}#api_key",
            "aws-sm": f"aws-sm:{self.aws_name}#api_key",
        }[source]

    def write(self, source: str, key: str) -> None:
        """Stores key where source keeps it: a file replaced atomically (as a Kubernetes secret update
        is), a new Vault version, a new AWS secret version."""
        if source == "file":
            with tempfile.NamedTemporaryFile("w", dir=self.file.parent, delete=False) as tmp:
                tmp.write(key + "\n")
            os.replace(tmp.name, self.file)
        elif source == "vault":
            self._vault.secrets.kv.v2.create_or_update_secret(
                path=self.vault_path, secret={"api_key": key, "org": "switchyard"}, mount_point="secret"
            )
        else:
            value = f'{{"api_key": "{key}"}}'
            try:
                self.aws.client.put_secret_value(SecretId=self.aws_name, SecretString=value)
            except self.aws.client.exceptions.ResourceNotFoundException:
                self.aws.client.create_secret(Name=self.aws_name, SecretString=value)


def settings_for(stores: Stores, **overrides: Any) -> ProviderSettings:
    """Returns the providers' settings of a test: short polls and refreshes, the test stores' addresses."""
    values: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": 0,
        "secret_file_poll_s": 0.05,
        "secret_refresh_s": 0.2,
        "secret_retry_s": 0.2,
        "secret_timeout_s": 2.0,
        "vault_addr": stores.vault.url,
        "vault_token": VAULT_TOKEN,
        "aws_region": REGION,
        "aws_endpoint_url": stores.aws.url,
    }
    values.update(overrides)
    return ProviderSettings(**values)


@dataclass
class Running:
    """The providers service serving in-process, its deployment table, and a stub on it."""

    stub: providers_pb2_grpc.ProviderServiceStub
    table: DeploymentTable

    async def generate(self, deployment: str, **metadata: str) -> providers_pb2.GenerateResponse:
        request = chat_pb2.ChatRequest(
            model="chat", messages=[chat_pb2.ChatMessage(role=chat_pb2.ROLE_USER, text="hello")], metadata=metadata
        )
        reply: providers_pb2.GenerateResponse = await self.stub.Generate(
            providers_pb2.GenerateRequest(deployment_id=deployment, request=request), timeout=10
        )
        return reply

    async def listed(self) -> dict[str, providers_pb2.Deployment]:
        reply = await self.stub.ListDeployments(providers_pb2.ListDeploymentsRequest(), timeout=5)
        return {d.id: d for d in reply.deployments}


@contextlib.asynccontextmanager
async def providers_service(config: str, settings: ProviderSettings) -> AsyncIterator[Running]:
    """Serves the providers service on config as `python -m switchyard.services.providers` would."""
    table = DeploymentTable(parse_config(config), key_ring(settings), environ={})
    deployments = await table.prime()
    clients = new_client_pool(settings, deployments)
    built = build(settings, deployments, clients, init_telemetry("providers", None))
    table.subscribe(publisher(built.servicer, clients))
    watch = table.watch()
    await built.server.start()
    try:
        async with aio.insecure_channel(f"127.0.0.1:{built.port}") as channel:
            yield Running(providers_pb2_grpc.ProviderServiceStub(channel), table)
    finally:
        watch.cancel()
        await built.server.stop(None)
        await clients.aclose()


def metric(name: str, **labels: str) -> float:
    """Returns a sample of this process's metrics registry (0 when never set)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0
