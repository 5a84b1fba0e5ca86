"""The fake AWS Bedrock Runtime: Converse, ConverseStream and InvokeModel, behind SigV4 verification.

Routes `POST /model/{modelId}/converse` and `/converse-stream` (Converse bodies, answered as the OpenAI
fake would, so all its scripting works, then rewritten by `bedrock_fake_wire`: JSON replies, or the
binary event-stream for streams), and `/invoke` and `/invoke-with-response-stream` with Anthropic's
Messages body (`anthropic_version: bedrock-2023-05-31` or a Messages API version, the model in the
path), answered by the fake Anthropic's wire and streamed as event-stream `chunk` messages carrying
each event base64-encoded, as `anthropic.AnthropicBedrock` reads them. InvokeModel on an embedding
model (Amazon Titan Text Embeddings, Cohere Embed) answers the fakes' deterministic vectors
(`fakes.embeddings`) in that model's body.

Every model request must be signed with AWS Signature Version 4 for the `bedrock` service: the fake
recomputes the signature (botocore's canonical request over the signed headers) with its secret access
key (`api_key`, default `FAKE_SECRET_ACCESS_KEY`; any access key id is taken) and answers a missing,
malformed, stale or wrong signature with Bedrock's 403 error shape (`x-amzn-ErrorType`
MissingAuthenticationTokenException, InvalidSignatureException; a body `{"message": ...}`). Scripted
statuses come back as Bedrock exceptions (429 ThrottlingException, 400 ValidationException, 408
ModelTimeoutException, 503 ServiceUnavailableException, ...); a mid-stream error is a
modelStreamErrorException message. Run it with `python -m switchyard.fakes --wire bedrock`.
"""

from __future__ import annotations

import base64
import hmac
import re
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

import orjson
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from switchyard.fakes import anthropic_fake_wire, embeddings
from switchyard.fakes.bedrock_fake_wire import ConverseRewriter, ValidationError, error_body, error_headers, to_openai
from switchyard.fakes.common import count_tokens, sleep_ms, write_events
from switchyard.fakes.http import HttpRequest, Response
from switchyard.fakes.openai_fake import FakeOptions
from switchyard.fakes.rewriting import RewritingFake, load, sse_payloads
from switchyard.wire.anthropic import vocabulary as anthropic_vocab
from switchyard.wire.bedrock import embeddings as bedrock_embeddings
from switchyard.wire.bedrock import vocabulary as vocab
from switchyard.wire.eventstream import encode_message

FAKE_ACCESS_KEY_ID = "AKIDSWITCHYARDFAKE01"
FAKE_SECRET_ACCESS_KEY = "switchyard-fake-bedrock-secret"
ANTHROPIC_BEDROCK_VERSION = "bedrock-2023-05-31"
# How far a request's X-Amz-Date may be from the fake's clock, as on AWS.
MAX_SKEW_S = 300
_ROUTE = re.compile(r"/model/([^/]+)/([a-z-]+)")
_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=([^/,]+)/(\d{8})/([^/,]+)/([^/,]+)/aws4_request,\s*"
    r"SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})"
)


class SignatureError(ValueError):
    """A request whose SigV4 signature is missing or wrong; `exception` is Bedrock's name for it."""

    def __init__(self, exception: str, message: str) -> None:
        super().__init__(message)
        self.exception = exception


def _signed_request(request: HttpRequest, host: str, signed: list[str]) -> AWSRequest:
    missing = [name for name in signed if name not in request.headers]
    if missing or "host" not in signed:
        raise SignatureError(
            "InvalidSignatureException", f"Signed headers missing from the request: {missing or ['host']}"
        )
    url = f"http://{host}{request.path}" + (f"?{request.query}" if request.query else "")
    headers = {name: request.headers[name] for name in signed}
    return AWSRequest(method=request.method, url=url, data=request.body, headers=headers)


def verify_sigv4(request: HttpRequest, secret_access_key: str, now: float | None = None) -> str:
    """Returns the access key id of a correctly signed request; raises SignatureError."""
    authorization = request.headers.get("authorization", "")
    if not authorization:
        raise SignatureError("MissingAuthenticationTokenException", "Missing Authentication Token")
    match = _AUTHORIZATION.fullmatch(authorization.strip())
    if match is None:
        raise SignatureError(
            "IncompleteSignatureException",
            "Authorization header requires a valid AWS4-HMAC-SHA256 Credential, SignedHeaders and Signature.",
        )
    key_id, day, region, service, signed, signature = match.groups()
    if service != vocab.SERVICE:
        raise SignatureError(
            "InvalidSignatureException", f"Credential should be scoped to correct service: '{vocab.SERVICE}'."
        )
    stamp = request.headers.get("x-amz-date", "")
    try:
        when = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise SignatureError(
            "IncompleteSignatureException", "Authorization requires a valid X-Amz-Date header."
        ) from None
    if abs(when.timestamp() - (time.time() if now is None else now)) > MAX_SKEW_S or not stamp.startswith(day):
        raise SignatureError(
            "InvalidSignatureException", f"Signature expired: {stamp} is now earlier or later than the allowed window."
        )
    signed_request = _signed_request(request, request.headers.get("host", ""), signed.split(";"))
    signed_request.context["timestamp"] = stamp
    signer = SigV4Auth(
        Credentials(key_id, secret_access_key, request.headers.get("x-amz-security-token")), service, region
    )
    expected = signer.signature(
        signer.string_to_sign(signed_request, signer.canonical_request(signed_request)), signed_request
    )
    if not hmac.compare_digest(expected, signature):
        raise SignatureError(
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret "
            "Access Key and signing method. Consult the service documentation for details.",
        )
    return key_id


def _chunk(event_payload: bytes) -> bytes:
    """Returns an InvokeModelWithResponseStream `chunk` message carrying one model event."""
    body = orjson.dumps({"bytes": base64.b64encode(event_payload).decode()})
    headers = {vocab.EVENT_TYPE: vocab.CHUNK, vocab.CONTENT_TYPE: "application/json", vocab.MESSAGE_TYPE: "event"}
    return encode_message(headers, body)


class FakeBedrock(RewritingFake):
    """An in-process fake Bedrock Runtime; `boto3.client("bedrock-runtime", endpoint_url=fake.url, ...)`."""

    def __init__(self, defaults: FakeOptions | None = None, api_key: str | None = None, log_size: int = 10_000) -> None:
        super().__init__(defaults, api_key or FAKE_SECRET_ACCESS_KEY, log_size)

    @property
    def url(self) -> str:
        """Returns the endpoint URL (boto3's endpoint_url, litellm_params.aws_bedrock_runtime_endpoint)."""
        return self.admin_url

    async def handle(self, request: HttpRequest, response: Response) -> None:
        """Answers one HTTP request."""
        route = _ROUTE.fullmatch(request.path)
        if route is None or request.method != "POST" or route.group(2) not in vocab.OPERATIONS:
            if request.path.startswith("/_fake/") or request.path == "/health":
                await super().handle(request, response)
                return
            response.send(
                404,
                error_body(f"Unknown operation {request.method} {request.path}"),
                error_headers("UnknownOperationException"),
            )
            return
        model, operation = unquote(route.group(1)), route.group(2)
        body = load(request.body)
        try:
            verify_sigv4(request, str(self.api_key))
        except SignatureError as exc:
            self.log_refusal(request, body, 403)
            response.send(403, error_body(str(exc)), error_headers(exc.exception))
            return
        # The OpenAI fake checks Bearer keys: a valid signature is the same credential.
        request.headers["authorization"] = f"Bearer {self.api_key}"
        if operation == vocab.INVOKE and bedrock_embeddings.family(model):
            self._embed(request, response, model, body)
            return
        if operation in (vocab.INVOKE, vocab.INVOKE_STREAM):
            await self._invoke(request, response, model, body, stream=operation == vocab.INVOKE_STREAM)
            return
        try:
            openai_body = to_openai(body, model, stream=operation == vocab.CONVERSE_STREAM)
        except ValidationError as exc:
            self.log_refusal(request, body, 400)
            response.send(400, error_body(str(exc)), error_headers("ValidationException"))
            return
        await self.delegate(request, response, openai_body, ConverseRewriter(), body)

    async def _invoke(self, request: HttpRequest, response: Response, model: str, body: Any, *, stream: bool) -> None:
        """Answers InvokeModel with an Anthropic Messages body the way Claude on Bedrock does."""
        self._count += 1
        number = self._count
        entry: dict[str, Any] = {
            "id": number,
            "method": "POST",
            "path": request.path,
            "body": body,
            "status": 0,
            "completed": False,
        }
        self._log.append(entry)
        opts = self._options(request.headers, {**body, "model": model} if isinstance(body, dict) else None)
        status, message = self._invoke_problem(body, opts)
        if status:
            entry["status"] = status
            await sleep_ms(opts.latency_ms)
            response.send(
                status, error_body(message), error_headers(vocab.exception_for(status)) + self._retry(status, opts)
            )
            return
        wire_body = {**body, "model": model, "stream": stream}
        reply = anthropic_fake_wire.plan_reply(wire_body, number, opts.tool_call)
        mid = f"msg_bdrk_fake{number:08d}"
        headers = [(vocab.REQUEST_ID_HEADER, f"req-fake-{number:08d}")]
        entry["status"] = 200
        if not stream:
            await sleep_ms(opts.latency_ms)
            response.send(200, orjson.dumps(anthropic_fake_wire.message(reply, mid, model)), headers)
            entry["completed"] = True
            return
        events = anthropic_fake_wire.stream_events(reply, mid, model, opts.chunks)
        frames = [_chunk(payload) for event in events for payload in sse_payloads(_data_only(event))]
        response.start_stream(200, headers, vocab.EVENTSTREAM_CONTENT_TYPE)
        await sleep_ms(opts.latency_ms if opts.ttft_ms is None else opts.ttft_ms)
        await write_events(response, entry, frames, b"", chunk_delay_ms=opts.chunk_delay_ms, cut_after=opts.cut_after)
        entry["completed"] = not entry.get("cut")

    def _embed(self, request: HttpRequest, response: Response, model: str, body: Any) -> None:
        """Answers InvokeModel on a Titan or Cohere embedding model with the fakes' deterministic vectors."""
        self._count += 1
        entry: dict[str, Any] = {"id": self._count, "method": "POST", "path": request.path, "body": body, "status": 0}
        self._log.append(entry)
        opts = self._options(request.headers, {**body, "model": model} if isinstance(body, dict) else None)
        texts, dimensions, problem = _embedding_inputs(model, body)
        status = opts.status or (400 if problem else 200)
        entry["status"] = status
        if status != 200:
            headers = error_headers(vocab.exception_for(status)) + self._retry(status, opts)
            response.send(status, error_body(problem or f"scripted status {status}"), headers)
            return
        vectors = [embeddings.vector(model, text, dimensions) for text in texts]
        tokens = sum(count_tokens(text) for text in texts)
        if bedrock_embeddings.family(model) == "titan":
            reply: dict[str, Any] = {"embedding": vectors[0], "inputTextTokenCount": tokens}
        else:
            reply = {
                "embeddings": vectors,
                "id": f"emb-fake-{self._count}",
                "texts": texts,
                "response_type": "embeddings_floats",
            }
        headers = [
            (vocab.REQUEST_ID_HEADER, f"req-fake-{self._count:08d}"),
            (bedrock_embeddings.INPUT_TOKENS_HEADER, str(tokens)),
        ]
        response.send(200, orjson.dumps(reply), headers)

    @staticmethod
    def _invoke_problem(body: Any, opts: FakeOptions) -> tuple[int, str]:
        if opts.status:
            return opts.status, f"scripted status {opts.status}"
        version = body.get("anthropic_version") if isinstance(body, dict) else None
        if version != ANTHROPIC_BEDROCK_VERSION and version not in anthropic_vocab.VERSIONS:
            return 400, f"anthropic_version: must be {ANTHROPIC_BEDROCK_VERSION}"
        messages_version = version if version in anthropic_vocab.VERSIONS else anthropic_vocab.VERSION_2023
        # On Bedrock the version rides in the body and the model in the path; the rest is the Messages body.
        messages = {key: value for key, value in body.items() if key != "anthropic_version"}
        try:
            anthropic_fake_wire.check_request({**messages, "model": "bedrock"}, str(messages_version))
        except anthropic_fake_wire.InvalidRequest as exc:
            return 400, str(exc)
        return 0, ""

    @staticmethod
    def _retry(status: int, opts: FakeOptions) -> list[tuple[str, str]]:
        if status == 429 or (status >= 500 and opts.retry_after):
            return [("retry-after", opts.retry_after or "1")]
        return []

    def _admin_error(self, status: int, message: str) -> bytes:
        return error_body(message)


def _embedding_inputs(model: str, body: Any) -> tuple[list[str], int, str]:
    """Returns (texts, dimensions, why the body is refused) of an embedding InvokeModel body."""
    if not isinstance(body, dict):
        return [], 0, "The request body must be a JSON object."
    if bedrock_embeddings.family(model) == "cohere":
        texts = body.get("texts")
        if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
            return [], 0, "texts: must be a non-empty array of strings"
        if body.get("input_type") is None:
            return [], 0, "Malformed input request: #: required key [input_type] not found"
        return texts, bedrock_embeddings.default_dimensions(model), ""
    text = body.get("inputText")
    if not isinstance(text, str) or not text:
        return [], 0, "Malformed input request: #: required key [inputText] not found"
    dimensions = body.get("dimensions", bedrock_embeddings.default_dimensions(model))
    if "-v2" in model and dimensions not in bedrock_embeddings.TITAN_V2_DIMENSIONS:
        return [], 0, "Malformed input request: #/dimensions: must be one of 256, 512, 1024"
    return [text], int(dimensions), ""


def _data_only(event: bytes) -> bytes:
    """Returns an Anthropic SSE event reduced to its data line, as sse_payloads reads events."""
    lines = [line for line in event.split(b"\n") if line.startswith(b"data: ")]
    return b"\n".join(lines) + b"\n\n"
