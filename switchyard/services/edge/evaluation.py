"""The evaluator's HTTP routes, both answered by the router (the edge's one peer):

    POST /v1/feedback                 {"request_id", "score": 0..1 | "thumbs": "up"|"down", "comment"}
                                      the caller's key; it may only rate its own requests (403), 404 unknown id
    GET  /experiments/{name}/report   the experiment's A/B report as JSON (master key)
    GET  /quality                     each deployment's quality segments and the experiments seen (master key)

Errors are OpenAI error bodies with the taxonomy's status.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import grpc
import orjson
from google.protobuf.json_format import MessageToDict
from grpc import aio

from switchyard.common.v1 import errors_pb2
from switchyard.router.v1 import admin_pb2, admin_pb2_grpc, router_pb2, router_pb2_grpc
from switchyard.runtime.errors import SwitchyardError, from_rpc_error, internal_error
from switchyard.services.edge.admin import fields
from switchyard.services.edge.asgi import JSON, Receive, Send, read_body, respond
from switchyard.services.edge.guards import check_json_content_type
from switchyard.services.edge.translate import credentials, error_response, request_id_of

FEEDBACK_PATH = "/v1/feedback"
REPORT_PREFIX, REPORT_SUFFIX = "/experiments/", "/report"
QUALITY_PATH = "/quality"
OPERATIONS = {("POST", FEEDBACK_PATH), ("GET", "/experiments/{name}/report"), ("GET", QUALITY_PATH)}
_TIMEOUT_S = 15.0
_MAX_COMMENT = 4000


def report_name(path: str) -> str | None:
    """Returns the experiment a report path names (None when path is not /experiments/{name}/report)."""
    if not (path.startswith(REPORT_PREFIX) and path.endswith(REPORT_SUFFIX)):
        return None
    name = unquote(path[len(REPORT_PREFIX) : -len(REPORT_SUFFIX)])
    return name if name and "/" not in name else None


def feedback_request(body: dict[str, Any]) -> router_pb2.SubmitFeedbackRequest:
    """Returns the RPC request a feedback body asks for; a 400 names any wrong field."""
    request = router_pb2.SubmitFeedbackRequest(
        request_id=fields.string(body, "request_id"), comment=fields.string(body, "comment", limit=_MAX_COMMENT)
    )
    if not request.request_id:
        raise fields.invalid("request_id", "required.")
    score, thumbs = body.get("score"), body.get("thumbs")
    if (score is None) == (thumbs is None):
        raise fields.invalid("score", "give either `score` (a number in [0, 1]) or `thumbs` (`up` or `down`).")
    if thumbs is not None:
        if thumbs not in ("up", "down"):
            raise fields.invalid("thumbs", "expected `up` or `down`.")
        request.thumbs_up = thumbs == "up"
        return request
    if isinstance(score, bool) or not isinstance(score, int | float) or not 0 <= score <= 1:
        raise fields.invalid("score", "expected a number between 0 and 1.")
    request.score = float(score)
    return request


class EvaluationRoutes:
    """Serves /v1/feedback and /experiments/{name}/report through the router."""

    def __init__(self, router: aio.Channel, max_body_bytes: int, body_timeout: float | None) -> None:
        self._router = router_pb2_grpc.RouterServiceStub(router)
        self._admin = admin_pb2_grpc.AdminServiceStub(router)
        self._max_body, self._body_timeout = max_body_bytes, body_timeout

    @staticmethod
    def handles(path: str) -> bool:
        return path in (FEEDBACK_PATH, QUALITY_PATH) or report_name(path) is not None

    async def __call__(self, path: str, method: str, receive: Receive, send: Send, headers: dict[str, str]) -> None:
        try:
            if path == FEEDBACK_PATH:
                reply = await self._feedback(method, receive, headers)
            elif path == QUALITY_PATH:
                reply = await self._quality(method, headers)
            else:
                reply = await self._report(method, report_name(path) or "", headers)
        except SwitchyardError as err:
            await respond(send, *error_response(err, request_id_of(headers)))
            return
        except grpc.RpcError as rpc_error:
            await respond(send, *error_response(from_rpc_error(rpc_error), request_id_of(headers)))
            return
        except Exception as exc:
            await respond(send, *error_response(internal_error(exc, "edge"), request_id_of(headers)))
            return
        await respond(send, 200, [JSON], orjson.dumps(reply))

    async def _feedback(self, method: str, receive: Receive, headers: dict[str, str]) -> dict[str, Any]:
        _require(method, "POST")
        check_json_content_type(headers)
        body = fields.json_object(await read_body(receive, headers, self._max_body, self._body_timeout))
        reply = await self._router.SubmitFeedback(
            feedback_request(body), metadata=credentials(headers), timeout=_TIMEOUT_S
        )
        return {"object": "feedback", "request_id": reply.request_id, "score": reply.score, "status": "recorded"}

    async def _report(self, method: str, name: str, headers: dict[str, str]) -> dict[str, Any]:
        _require(method, "GET")
        reply = await self._admin.GetExperimentReport(
            admin_pb2.GetExperimentReportRequest(name=name), metadata=credentials(headers), timeout=_TIMEOUT_S
        )
        return MessageToDict(reply.report, preserving_proto_field_name=True, always_print_fields_with_no_presence=True)

    async def _quality(self, method: str, headers: dict[str, str]) -> dict[str, Any]:
        _require(method, "GET")
        reply = await self._admin.GetQuality(
            admin_pb2.GetQualityRequest(), metadata=credentials(headers), timeout=_TIMEOUT_S
        )
        return MessageToDict(reply.quality, preserving_proto_field_name=True, always_print_fields_with_no_presence=True)


def _require(method: str, allowed: str) -> None:
    if method != allowed:
        raise SwitchyardError(errors_pb2.ERROR_REASON_INVALID_REQUEST, f"Use {allowed}.", http_status=405)
