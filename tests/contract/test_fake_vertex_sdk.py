"""The fake Vertex AI is what the official SDKs say Vertex AI is: google-genai in Vertex mode and AnthropicVertex.

Both SDKs get google-auth service-account credentials made from a key generated here, whose token_uri is
the fake's token endpoint: the SDK signs a JWT with the key, the fake checks it against the key's public
half and grants a token, and the SDK's model calls carry it. Tokens the fake did not grant, expired ones
and none at all are refused with Google's 401 body, which the SDKs raise as their own errors.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anthropic
import httpx
import pytest
import pytest_asyncio
from google import genai
from google.genai import errors, types
from google.oauth2 import service_account

from switchyard.fakes.vertex_fake import FakeVertex
from switchyard.fakes.vertex_fake_oauth import ServiceAccount, new_service_account_key
from tests.support import wait_until

PROJECT = "switchyard-sdk"
LOCATION = "us-east5"
GEMINI = "gemini-2.5-flash"
CLAUDE = "claude-sonnet-4@20250514"
ASK = "What is a switchyard, in one line?"
REPLY = "Switchyard fake reply to: What is a switchyard, in one line?"
SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeVertex]:
    async with FakeVertex.running(port=0) as running:
        yield running


def _credentials(fake: FakeVertex, trusted: bool = True, project: str = PROJECT) -> service_account.Credentials:
    key = new_service_account_key(project, fake.token_uri)
    if trusted:
        fake.trust(ServiceAccount.of_key(key))
    return service_account.Credentials.from_service_account_info(key, scopes=SCOPES)


def _genai(fake: FakeVertex, credentials: Any) -> genai.Client:
    return genai.Client(
        vertexai=True,
        project=PROJECT,
        location=LOCATION,
        credentials=credentials,
        http_options=types.HttpOptions(base_url=fake.url),
    )


def _claude(fake: FakeVertex, **auth: Any) -> anthropic.AsyncAnthropicVertex:
    return anthropic.AsyncAnthropicVertex(region=LOCATION, project_id=PROJECT, base_url=f"{fake.url}/v1", **auth)


async def test_google_genai_generates_and_streams_with_a_granted_token(fake: FakeVertex) -> None:
    client = _genai(fake, _credentials(fake))
    reply = await client.aio.models.generate_content(model=GEMINI, contents=ASK)
    assert reply.text == REPLY
    assert reply.usage_metadata is not None and reply.usage_metadata.prompt_token_count
    text = ""
    async for chunk in await client.aio.models.generate_content_stream(model=GEMINI, contents=ASK):
        text += chunk.text or ""
    assert text == REPLY
    assert fake.issuer.grants == 1, "the SDK reuses its token"
    logged = fake.requests[-1]
    assert logged["publisher"] == "google" and logged["project"] == PROJECT and logged["location"] == LOCATION
    assert logged["path"].endswith(f"/publishers/google/models/{GEMINI}:streamGenerateContent")


async def test_anthropic_vertex_creates_and_streams_with_a_granted_token(fake: FakeVertex) -> None:
    client = _claude(fake, credentials=_credentials(fake))
    message = await client.messages.create(model=CLAUDE, max_tokens=64, messages=[{"role": "user", "content": ASK}])
    assert message.content[0].type == "text" and message.content[0].text == REPLY
    assert message.stop_reason == "end_turn" and message.usage.input_tokens > 0
    async with client.messages.stream(
        model=CLAUDE, max_tokens=64, messages=[{"role": "user", "content": ASK}]
    ) as stream:
        streamed = await stream.get_final_message()
    assert streamed.content[0].type == "text" and streamed.content[0].text == REPLY
    body = fake.requests[-1]["body"]
    assert body["anthropic_version"] and "model" not in body
    assert fake.requests[-1]["path"].endswith(f"/publishers/anthropic/models/{CLAUDE}:streamRawPredict")


async def test_a_key_the_fake_does_not_trust_gets_no_token(fake: FakeVertex) -> None:
    client = _genai(fake, _credentials(fake, trusted=False))
    with pytest.raises(Exception, match="account not found"):
        await client.aio.models.generate_content(model=GEMINI, contents=ASK)
    assert fake.issuer.grants == 0 and fake.issuer.refused == 1


async def test_a_forged_signature_is_refused(fake: FakeVertex) -> None:
    trusted = new_service_account_key(PROJECT, fake.token_uri)
    fake.trust(ServiceAccount.of_key(trusted))
    # Same account, another private key: the signature cannot be checked against the trusted public key.
    forged = {**new_service_account_key(PROJECT, fake.token_uri), "client_email": trusted["client_email"]}
    credentials = service_account.Credentials.from_service_account_info(forged, scopes=SCOPES)
    with pytest.raises(Exception, match="Invalid JWT Signature"):
        await _genai(fake, credentials).aio.models.generate_content(model=GEMINI, contents=ASK)


async def test_missing_and_unknown_tokens_get_googles_401(fake: FakeVertex) -> None:
    url = f"{fake.url}/v1/projects/{PROJECT}/locations/{LOCATION}/publishers/google/models/{GEMINI}:generateContent"
    body = {"contents": [{"role": "user", "parts": [{"text": ASK}]}]}
    async with httpx.AsyncClient(timeout=10) as http:
        missing = await http.post(url, json=body)
        unknown = await http.post(url, json=body, headers={"authorization": "Bearer ya29.not-granted"})
    for response in (missing, unknown):
        error = response.json()["error"]
        assert response.status_code == 401 and error["code"] == 401 and error["status"] == "UNAUTHENTICATED"
    assert missing.json()["error"]["details"][0]["reason"] == "CREDENTIALS_MISSING"
    with pytest.raises(anthropic.AuthenticationError):
        await _claude(fake, access_token="ya29.not-granted").messages.create(
            model=CLAUDE, max_tokens=8, messages=[{"role": "user", "content": ASK}]
        )


async def test_an_expired_token_is_refused_and_the_sdk_gets_a_new_one() -> None:
    async with FakeVertex.running(port=0, token_lifetime_s=1) as fake:
        credentials = _credentials(fake)
        client = _genai(fake, credentials)
        await client.aio.models.generate_content(model=GEMINI, contents=ASK)
        old = credentials.token
        await wait_until(lambda: fake.issuer.check(f"Bearer {old}", PROJECT) is not None, 10.0, "the token to expire")
        with pytest.raises(anthropic.AuthenticationError) as caught:
            await _claude(fake, access_token=old).messages.create(
                model=CLAUDE, max_tokens=8, messages=[{"role": "user", "content": ASK}]
            )
        assert caught.value.status_code == 401
        assert fake.requests[-1]["status"] == 401
        # google-auth treats a token this short-lived as expired at once, so the SDK asks for a fresh one.
        reply = await client.aio.models.generate_content(model=GEMINI, contents=ASK)
        assert reply.text == REPLY and credentials.token != old


async def test_another_projects_token_is_forbidden(fake: FakeVertex) -> None:
    client = _genai(fake, _credentials(fake, project="someone-else"))
    with pytest.raises(errors.ClientError) as caught:
        await client.aio.models.generate_content(model=GEMINI, contents=ASK)
    assert caught.value.code == 403
