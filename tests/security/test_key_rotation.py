"""Provider keys from a mounted file, HashiCorp Vault and AWS Secrets Manager rotate without a restart:
calls succeed with key A, the store changes to B and the upstream accepts only B, and within the refresh
interval new calls succeed again. A store that fails keeps the last good key (logged once, counted), and
a key that cannot be read never holds up start-up or the other deployments.

The providers service runs in-process as its `__main__` wires it, over real gRPC, calling the fake OpenAI
upstream over real HTTP; the stores are real servers on loopback (the Vault double, moto's AWS server).
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from grpc import aio

from switchyard.common.v1 import chat_pb2, errors_pb2
from switchyard.fakes import FakeOpenAI
from switchyard.providers.v1 import providers_pb2
from switchyard.runtime.errors import from_rpc_error
from tests.security.provider_keys import (
    SOURCES,
    VAULT_TOKEN,
    AwsServer,
    Running,
    Stores,
    aws_server,
    metric,
    new_key,
    providers_service,
    settings_for,
)
from tests.security.vault_double import VaultDouble
from tests.support import wait_until

R = errors_pb2.ErrorReason
MODELS = {"file": "fake-from-file", "vault": "fake-from-vault", "aws-sm": "fake-from-aws"}
IDS = {"file": "from-file", "vault": "from-vault", "aws-sm": "from-aws"}
LOGGER = "switchyard.services.providers"


def config(fake: FakeOpenAI, stores: Stores) -> str:
    entries = "".join(
        f"  - model_name: chat\n"
        f'    litellm_params: {{model: openai/{MODELS[s]}, api_base: "{fake.url}", api_key: "{stores.ref(s)}"}}\n'
        f"    model_info: {{id: {IDS[s]}}}\n"
        for s in SOURCES
    )
    plain = f'  - model_name: chat\n    litellm_params: {{model: openai/fake-plain, api_base: "{fake.url}"}}\n'
    return f"model_list:\n{entries}{plain}    model_info: {{id: plain}}\n"


@pytest.fixture(scope="module")
def vault() -> Iterator[VaultDouble]:
    double = VaultDouble(VAULT_TOKEN)
    yield double
    double.close()


@pytest.fixture(scope="module")
def aws() -> Iterator[AwsServer]:
    with aws_server() as server:
        yield server


@pytest.fixture
def stores(vault: VaultDouble, aws: AwsServer, tmp_path: Path) -> Iterator[Stores]:
    vault.sealed = False
    yield Stores(vault, aws, tmp_path)
    vault.sealed = False


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI.running(port=0) as running:
        yield running


def require(fake: FakeOpenAI, keys: dict[str, str]) -> None:
    """Makes the fake upstream accept, for each source's deployment, only the key given for it (what a
    rotation at the provider looks like: the old key is revoked)."""
    fake.clear_scripts()
    for source, key in keys.items():
        fake.script(MODELS[source], api_key=key)


async def succeeds(service: Running, deployment: str) -> bool:
    try:
        await service.generate(deployment)
    except aio.AioRpcError:
        return False
    return True


@pytest.mark.parametrize("source", SOURCES)
async def test_a_rotated_key_is_used_without_a_restart(
    source: str, stores: Stores, fake: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    old, new = new_key("a"), new_key("b")
    for s in SOURCES:
        stores.write(s, old)
    require(fake, dict.fromkeys(SOURCES, old))
    rotations = metric("switchyard_providers_secret_rotations_total", source=source)
    caplog.set_level(logging.INFO, LOGGER)
    async with providers_service(config(fake, stores), settings_for(stores)) as service:
        reply = await service.generate(IDS[source])
        assert reply.completion.choices[0].message.text.startswith("Switchyard fake reply")
        stores.write(source, new)
        require(fake, {**dict.fromkeys(SOURCES, old), source: new})
        await wait_until(lambda: succeeds(service, IDS[source]), 10, f"a call with the key rotated in {source}")
        assert fake.requests[-1]["status"] == 200
        listed = await service.listed()
    assert metric("switchyard_providers_secret_rotations_total", source=source) == rotations + 1
    assert "changed: new calls of" in caplog.text and IDS[source] in caplog.text
    assert old not in caplog.text and new not in caplog.text
    assert old.encode() not in listed[IDS[source]].SerializeToString()


async def test_a_call_in_flight_finishes_with_the_key_it_started_with(stores: Stores, fake: FakeOpenAI) -> None:
    old, new = new_key("a"), new_key("b")
    for s in SOURCES:
        stores.write(s, old)
    require(fake, dict.fromkeys(SOURCES, old))
    async with providers_service(config(fake, stores), settings_for(stores)) as service:
        request = chat_pb2.ChatRequest(
            model="chat",
            messages=[chat_pb2.ChatMessage(role=chat_pb2.ROLE_USER, text="a long answer, please")],
            metadata={"fake_chunks": "30", "fake_chunk_delay_ms": "40"},
            stream=True,
        )
        call = service.stub.StreamGenerate(
            providers_pb2.StreamGenerateRequest(deployment_id="from-file", request=request), timeout=20
        )
        first = await call.read()
        assert first.chunks
        streamed = next(entry for entry in fake.requests if entry["body"].get("stream"))
        stores.write("file", new)
        require(fake, {**dict.fromkeys(SOURCES, old), "file": new})
        await wait_until(lambda: succeeds(service, "from-file"), 10, "a new call with the new key")
        assert not streamed["completed"], "the stream begun with the old key is still running"
        rest = []
        while (message := await call.read()) is not aio.EOF:
            rest.append(message)
    assert rest[-1].HasField("upstream"), "the stream begun with the old key ends normally"
    assert streamed["status"] == 200


async def test_a_failed_read_keeps_the_last_good_key_and_is_logged_once(
    stores: Stores, fake: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    key = new_key("a")
    for s in SOURCES:
        stores.write(s, key)
    require(fake, dict.fromkeys(SOURCES, key))
    caplog.set_level(logging.INFO, LOGGER)
    failures = metric("switchyard_providers_secret_read_failures_total", source="vault")
    async with providers_service(config(fake, stores), settings_for(stores)) as service:
        await service.generate("from-vault")
        stores.vault.sealed = True
        await wait_until(
            lambda: metric("switchyard_providers_secret_read_failures_total", source="vault") >= failures + 3,
            10,
            "three failed reads of the sealed Vault",
        )
        assert metric("switchyard_providers_secrets_failing", source="vault") == 1
        reply = await service.generate("from-vault")
        assert reply.upstream.http_status == 200, "the last good key keeps serving"
        assert (await service.listed())["from-vault"].available
        stores.vault.sealed = False
        await wait_until(
            lambda: metric("switchyard_providers_secrets_failing", source="vault") == 0, 10, "Vault readable again"
        )
    lines = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    failed = [line for line in lines if line.startswith("cannot read the key from vault")]
    assert len(failed) == 1, lines
    assert "VaultDown" in failed[0] and "keeping the last good key" in failed[0] and "from-vault" in failed[0]
    assert sum(line.startswith("the key from vault") and "read again" in line for line in lines) == 1
    assert key not in caplog.text and VAULT_TOKEN not in caplog.text


async def test_a_key_that_cannot_be_read_at_start_arrives_later_without_a_restart(
    stores: Stores, fake: FakeOpenAI
) -> None:
    key = new_key("late")
    stores.vault.sealed = True  # Vault sealed, the AWS secret and the file not created yet
    require(fake, dict.fromkeys(SOURCES, key))
    async with providers_service(config(fake, stores), settings_for(stores)) as service:
        listed = await service.listed()
        assert listed["plain"].available, "the other deployments serve at once"
        for source in SOURCES:
            assert not listed[IDS[source]].available
            assert stores.ref(source).split(":", 1)[1].split("#")[0] in listed[IDS[source]].unavailable_reason
        with pytest.raises(aio.AioRpcError) as caught:
            await service.generate("from-vault")
        error = from_rpc_error(caught.value)
        assert error.reason == R.ERROR_REASON_DEPLOYMENT_UNAVAILABLE and "VaultDown" in error.message
        stores.vault.sealed = False
        for source in SOURCES:
            stores.write(source, key)
        for source in SOURCES:
            await wait_until(lambda s=source: succeeds(service, IDS[s]), 10, f"the key from {source} to arrive")


async def test_a_hung_secret_manager_does_not_hold_up_start_up(stores: Stores, fake: FakeOpenAI) -> None:
    stores.write("file", new_key("file"))
    stores.write("aws-sm", new_key("aws"))
    # A Vault that accepts connections and never answers.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        address = f"http://127.0.0.1:{silent.getsockname()[1]}"
        # 2 s: long enough for the healthy AWS double's first read (boto3 builds its client then, which
        # takes a second on a busy machine), far shorter than the default 5 s.
        settings = settings_for(stores, vault_addr=address, secret_timeout_s=2.0)
        started = time.monotonic()
        async with providers_service(config(fake, stores), settings) as service:
            elapsed = time.monotonic() - started
            listed = await service.listed()
    assert elapsed < 5.0, f"start-up waited {elapsed:.1f}s for a silent Vault"
    assert listed["plain"].available and listed["from-file"].available and listed["from-aws"].available
    assert not listed["from-vault"].available and "no answer within 2s" in listed["from-vault"].unavailable_reason


async def test_keys_wider_than_needed_are_warned_about_by_kind_never_by_value(
    stores: Stores, fake: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    user_key = "sk-" + "Ab1" * 16
    stores.write("file", user_key)
    stores.write("vault", "sk-admin-" + "x" * 40)
    stores.write("aws-sm", new_key("scoped"))
    caplog.set_level(logging.WARNING, LOGGER)
    async with providers_service(config(fake, stores), settings_for(stores)) as service:
        assert (await service.listed())["from-file"].available, "a wide key still serves: it is a warning"
    warnings = [r.getMessage() for r in caplog.records if "its key is" in r.getMessage()]
    assert any("from-file" in w and "OpenAI user key" in w and "sk-proj-" in w for w in warnings), warnings
    assert any("from-vault" in w and "OpenAI admin key" in w for w in warnings), warnings
    assert not any("from-aws" in w for w in warnings), "a project key is what a gateway should hold"
    assert user_key not in caplog.text and "x" * 40 not in caplog.text
