"""The Bedrock adapter: LiteLLM config names, Converse bodies, SigV4 against the fake, errors and streams."""

from __future__ import annotations

import time
from pathlib import Path

import orjson
import pytest

from switchyard.common.v1 import chat_pb2, embeddings_pb2, errors_pb2
from switchyard.config import parse_config
from switchyard.fakes.bedrock_fake import FakeBedrock
from switchyard.runtime.errors import SwitchyardError
from switchyard.runtime.telemetry import init_telemetry
from switchyard.services.providers.adapters.base import ClientPool, Deployment
from switchyard.services.providers.adapters.bedrock import BedrockAdapter
from switchyard.services.providers.config import resolve_deployments
from switchyard.services.providers.credentials.aws import AwsIdentity
from switchyard.wire.eventstream import encode_message
from tests.conformance.bedrock import converse_stream
from tests.conformance.harness import ReplayServer
from tests.unit.providers.capture import CaptureServer

R = errors_pb2.ErrorReason
SECRET = "unit-secret"
IDENTITY = AwsIdentity("AKIDUNIT", "eu-west-1", "unit-session")
CLAUDE = "anthropic.claude-3-5-sonnet-20240620-v1:0"
LLAMA = "meta.llama3-1-70b-instruct-v1:0"
CONFIG = """model_list:
  - model_name: claude
    litellm_params:
      model: bedrock/{model}
      aws_access_key_id: {key_id}
      aws_secret_access_key: {secret}
      aws_region_name: eu-west-1
"""


def _target(api_base: str, model: str = CLAUDE, secret: str = SECRET) -> Deployment:
    return Deployment(
        id="b", group="g", provider="bedrock", model=model, api_base=api_base, api_key=secret, aws=IDENTITY
    )


def _ask(text: str, **fields: object) -> chat_pb2.ChatRequest:
    return chat_pb2.ChatRequest(
        model="g", messages=[chat_pb2.ChatMessage(role=chat_pb2.ROLE_USER, text=text)], **fields
    )


async def _generate(api_base: str, request: chat_pb2.ChatRequest, target: Deployment | None = None) -> None:
    clients = ClientPool([api_base])
    try:
        await BedrockAdapter(clients, init_telemetry("test", "")).generate(
            target or _target(api_base), request, time.monotonic() + 10
        )
    finally:
        await clients.aclose()


# ------------------------------------------------------------ configuration


def test_litellm_params_load_unchanged() -> None:
    config = parse_config(CONFIG.format(model=CLAUDE, key_id="os.environ/AWS_KEY_ID", secret="os.environ/AWS_SECRET"))
    (target,) = resolve_deployments(config, {"AWS_KEY_ID": "AKIDCONFIG", "AWS_SECRET": "s3cr3t"}, quiet=True)
    assert target.available and (target.provider, target.model) == ("bedrock", CLAUDE)
    assert target.api_base == "https://bedrock-runtime.eu-west-1.amazonaws.com"
    assert target.aws == AwsIdentity("AKIDCONFIG", "eu-west-1") and target.api_key == "s3cr3t"
    assert "s3cr3t" not in repr(target)
    assert target.prices.input == pytest.approx(3e-6) and target.prices.output == pytest.approx(15e-6)


def test_keys_may_live_in_watched_references(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("from-a-file\n")
    config = parse_config(CONFIG.format(model=CLAUDE, key_id="AKIDFILE", secret=f"file:{secret}"))
    (target,) = resolve_deployments(config, {}, quiet=True)
    assert target.api_key == "from-a-file" and target.key_ref is not None and target.key_ref.watched
    assert target.aws is not None and target.aws.access_key_id == "AKIDFILE"


def test_the_deployment_id_does_not_depend_on_the_keys() -> None:
    first = parse_config(CONFIG.format(model=CLAUDE, key_id="AKIDONE", secret="one")).model_list[0]
    second = parse_config(CONFIG.format(model=CLAUDE, key_id="AKIDTWO", secret="two")).model_list[0]
    assert first.deployment_id == second.deployment_id


def test_a_missing_key_makes_the_deployment_unavailable() -> None:
    config = parse_config(CONFIG.format(model=LLAMA, key_id="AKIDX", secret="os.environ/NOT_SET"))
    (target,) = resolve_deployments(config, {}, quiet=True)
    assert not target.available and "NOT_SET" in target.unavailable_reason


def test_credentials_come_from_the_environment_or_the_shared_file(tmp_path: Path) -> None:
    config = parse_config("model_list:\n  - model_name: g\n    litellm_params: {model: bedrock/" + LLAMA + "}\n")
    env = {"AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "env-secret", "AWS_REGION": "ap-south-1"}
    (target,) = resolve_deployments(config, env, quiet=True)
    assert target.aws == AwsIdentity("AKIDENV", "ap-south-1") and target.api_key == "env-secret"
    assert target.api_base == "https://bedrock-runtime.ap-south-1.amazonaws.com"
    shared = tmp_path / "credentials"
    shared.write_text("[team]\naws_access_key_id = AKIDFILE\naws_secret_access_key = file-secret\n")
    files = {"AWS_SHARED_CREDENTIALS_FILE": str(shared), "AWS_PROFILE": "team", "AWS_CONFIG_FILE": str(tmp_path / "x")}
    (target,) = resolve_deployments(config, files, quiet=True)
    assert target.aws is not None and target.aws.access_key_id == "AKIDFILE" and target.api_key == "file-secret"
    (target,) = resolve_deployments(config, {"AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}, quiet=True)
    assert not target.available and "no AWS credentials" in target.unavailable_reason


# ------------------------------------------------------------ requests


async def test_body_speaks_converse() -> None:
    request = _ask("Weather?", temperature=0.3, max_tokens=50, stop=["END"])
    request.messages.insert(0, chat_pb2.ChatMessage(role=chat_pb2.ROLE_SYSTEM, text="Be terse."))
    tool = request.tools.add(type="function", function=chat_pb2.FunctionDefinition(name="get_weather"))
    tool.function.parameters.update({"type": "object"})
    request.tool_choice.mode = chat_pb2.TOOL_CHOICE_MODE_REQUIRED
    assistant = request.messages.add(role=chat_pb2.ROLE_ASSISTANT)
    assistant.tool_calls.add(
        id="t1", type="function", function=chat_pb2.FunctionCall(name="get_weather", arguments="{}")
    )
    request.messages.add(role=chat_pb2.ROLE_TOOL, tool_call_id="t1", text="sunny")
    request.messages.add(role=chat_pb2.ROLE_USER, text="Thanks")
    async with FakeBedrock.running(port=0, api_key=SECRET) as fake:
        await _generate(fake.url, request)
        body, path = fake.requests[-1]["body"], fake.requests[-1]["path"]
    assert path == "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse"
    assert body["system"] == [{"text": "Be terse."}]
    assert body["inferenceConfig"] == {"maxTokens": 50, "temperature": 0.3, "stopSequences": ["END"]}
    assert body["toolConfig"]["toolChoice"] == {"any": {}}
    assert body["toolConfig"]["tools"][0]["toolSpec"]["inputSchema"] == {"json": {"type": "object"}}
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
    assert body["messages"][2]["content"] == [
        {"toolResult": {"toolUseId": "t1", "content": [{"text": "sunny"}]}},
        {"text": "Thanks"},
    ]


async def test_an_image_by_url_is_refused_before_any_call() -> None:
    request = chat_pb2.ChatRequest(model="g")
    message = request.messages.add(role=chat_pb2.ROLE_USER)
    message.parts.parts.add(image_url=chat_pb2.ImageUrlPart(url="https://example.com/cat.png"))
    with pytest.raises(SwitchyardError) as caught:
        await _generate("http://127.0.0.1:9", request)
    assert caught.value.reason == R.ERROR_REASON_INVALID_REQUEST and "data: URI" in caught.value.message


async def test_a_llama_model_answers_through_the_same_converse_body() -> None:
    async with FakeBedrock.running(port=0, api_key=SECRET) as fake:
        clients = ClientPool([fake.url])
        adapter = BedrockAdapter(clients, init_telemetry("test", ""))
        completion, record = await adapter.generate(_target(fake.url, LLAMA), _ask("Hi Llama"), time.monotonic() + 10)
        await clients.aclose()
        signed = fake.requests[-1]
    assert "Hi Llama" in completion.choices[0].message.text and completion.model == LLAMA
    assert record.provider == "bedrock" and record.http_status == 200
    assert signed["status"] == 200


# ------------------------------------------------------------ signing and errors


async def test_a_wrong_secret_is_an_auth_error_and_an_unhealthy_probe() -> None:
    async with FakeBedrock.running(port=0, api_key=SECRET) as fake:
        clients = ClientPool([fake.url])
        adapter = BedrockAdapter(clients, init_telemetry("test", ""))
        wrong = _target(fake.url, secret="not-the-secret")
        with pytest.raises(SwitchyardError) as caught:
            await adapter.generate(wrong, _ask("x"), time.monotonic() + 10)
        bad_probe = await adapter.probe(wrong, None)
        good_probe = await adapter.probe(_target(fake.url), None)
        await clients.aclose()
    assert caught.value.reason == R.ERROR_REASON_UPSTREAM_AUTH
    assert caught.value.metadata["upstream_type"] == "InvalidSignatureException"
    assert "not-the-secret" not in caught.value.message
    assert not bad_probe.healthy and bad_probe.reason == R.ERROR_REASON_UPSTREAM_AUTH
    assert good_probe.healthy


@pytest.mark.parametrize(
    ("status", "kind", "message", "reason"),
    [
        (400, "ValidationException", "Input is too long for requested model.", R.ERROR_REASON_CONTEXT_WINDOW_EXCEEDED),
        (400, "ValidationException", "temperature: must be <= 1", R.ERROR_REASON_UPSTREAM_BAD_REQUEST),
        (403, "AccessDeniedException", "You don't have access to the model", R.ERROR_REASON_UPSTREAM_AUTH),
        (408, "ModelTimeoutException", "Model has timed out", R.ERROR_REASON_UPSTREAM_TIMEOUT),
        (429, "ThrottlingException", "Too many requests", R.ERROR_REASON_UPSTREAM_RATE_LIMITED),
        (503, "ServiceUnavailableException", "Service unavailable", R.ERROR_REASON_UPSTREAM_UNAVAILABLE),
        (424, "ModelErrorException", "The model failed", R.ERROR_REASON_UPSTREAM_UNAVAILABLE),
    ],
)
async def test_exceptions_map_into_the_taxonomy(status: int, kind: str, message: str, reason: int) -> None:
    body = orjson.dumps({"__type": f"com.amazon.bedrock#{kind}", "message": message})
    async with CaptureServer(body, status=status) as server:
        with pytest.raises(SwitchyardError) as caught:
            await _generate(server.root, _ask("x"))
    assert caught.value.reason == reason and caught.value.metadata["upstream_type"] == kind
    assert message in caught.value.message


async def _stream_error(pieces: list[bytes]) -> SwitchyardError:
    async with ReplayServer(pieces) as replay:
        clients = ClientPool([replay.root])
        adapter = BedrockAdapter(clients, init_telemetry("test", ""))
        with pytest.raises(SwitchyardError) as caught:
            async for _ in adapter.stream(_target(replay.root), _ask("x", stream=True), time.monotonic() + 10):
                pass
        await clients.aclose()
    return caught.value


async def test_a_throttling_exception_mid_stream_is_rate_limited() -> None:
    whole = converse_stream("Hello")
    first = whole[: int.from_bytes(whole[:4], "big")]
    exception = encode_message(
        {":exception-type": "throttlingException", ":content-type": "application/json", ":message-type": "exception"},
        b'{"message":"Too many tokens, please wait before trying again."}',
    )
    err = await _stream_error([first, exception])
    assert err.reason == R.ERROR_REASON_UPSTREAM_RATE_LIMITED and "Too many tokens" in err.message


async def test_a_corrupt_frame_is_a_malformed_stream() -> None:
    body = bytearray(converse_stream("Hello"))
    body[30] ^= 0xFF
    err = await _stream_error([bytes(body)])
    assert err.reason == R.ERROR_REASON_UPSTREAM_MALFORMED and "CRC mismatch" in err.message


async def test_a_stream_without_metadata_is_malformed() -> None:
    whole = converse_stream("Hello")
    cut, pos = [], 0
    while pos < len(whole):
        size = int.from_bytes(whole[pos : pos + 4], "big")
        cut.append(whole[pos : pos + size])
        pos += size
    err = await _stream_error(cut[:-1])
    assert err.reason == R.ERROR_REASON_UPSTREAM_MALFORMED and "without metadata" in err.message


# ------------------------------------------------------------ embeddings

TITAN = "amazon.titan-embed-text-v2:0"
COHERE = "cohere.embed-english-v3"


async def _embed(
    model: str, inputs: list[str], dimensions: int | None = None
) -> tuple[object, list[dict[str, object]]]:
    request = embeddings_pb2.EmbeddingRequest(model="g", inputs=inputs)
    if dimensions is not None:
        request.dimensions = dimensions
    async with FakeBedrock.running(port=0, api_key=SECRET) as fake:
        clients = ClientPool([fake.url])
        try:
            embeddings, _ = await BedrockAdapter(clients, init_telemetry("test", "")).embed(
                _target(fake.url, model), request, time.monotonic() + 10
            )
        finally:
            await clients.aclose()
        return embeddings, fake.requests


async def test_titan_embeds_each_input_with_its_size() -> None:
    embeddings, sent = await _embed(TITAN, ["first text", "second, longer text"], dimensions=256)
    assert isinstance(embeddings, embeddings_pb2.Embeddings)
    assert [len(e.values) for e in embeddings.data] == [256, 256] and [e.index for e in embeddings.data] == [0, 1]
    assert embeddings.data[0].values != embeddings.data[1].values
    assert embeddings.usage.prompt_tokens == 3 + 5 and embeddings.model == TITAN
    assert sorted(r["body"]["inputText"] for r in sent) == ["first text", "second, longer text"]  # type: ignore[index]
    assert all(r["body"] == {**r["body"], "dimensions": 256, "normalize": True} for r in sent)  # type: ignore[dict-item]


async def test_cohere_embeds_a_batch_in_one_call() -> None:
    embeddings, sent = await _embed(COHERE, ["a", "bb", "ccc"])
    assert isinstance(embeddings, embeddings_pb2.Embeddings)
    assert len(embeddings.data) == 3 and all(len(e.values) == 1024 for e in embeddings.data)
    assert embeddings.usage.prompt_tokens == 3
    assert len(sent) == 1 and sent[0]["body"] == {"texts": ["a", "bb", "ccc"], "input_type": "search_document"}


@pytest.mark.parametrize(
    ("model", "dimensions", "param"),
    [(COHERE, 256, "dimensions"), (CLAUDE, None, "model")],
    ids=["cohere-size", "chat"],
)
async def test_what_an_embedding_model_cannot_do_is_refused(model: str, dimensions: int | None, param: str) -> None:
    with pytest.raises(SwitchyardError) as caught:
        await _embed(model, ["x"], dimensions)
    assert caught.value.reason == R.ERROR_REASON_INVALID_REQUEST and caught.value.param == param


async def test_a_throttled_embedding_is_rate_limited() -> None:
    async with FakeBedrock.running(port=0, api_key=SECRET) as fake:
        fake.script(TITAN, status=429, retry_after="2")
        clients = ClientPool([fake.url])
        request = embeddings_pb2.EmbeddingRequest(model="g", inputs=["x"])
        with pytest.raises(SwitchyardError) as caught:
            await BedrockAdapter(clients, init_telemetry("test", "")).embed(
                _target(fake.url, TITAN), request, time.monotonic() + 10
            )
        await clients.aclose()
    assert caught.value.reason == R.ERROR_REASON_UPSTREAM_RATE_LIMITED and caught.value.retry_after_s == 2.0
