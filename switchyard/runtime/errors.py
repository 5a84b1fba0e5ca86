"""The closed error taxonomy of Switchyard, mapped once to gRPC, HTTP and OpenAI terms.

    SwitchyardError(reason, message)
    ├── client errors (the request is wrong; never retried, never failed over)
    │   INVALID_REQUEST · MODEL_NOT_FOUND · PAYLOAD_TOO_LARGE · UNAUTHENTICATED · PERMISSION_DENIED
    │   CONTEXT_WINDOW_EXCEEDED · PROMPT_BLOCKED · UPSTREAM_BAD_REQUEST · UPSTREAM_CONTENT_FILTERED
    ├── policy errors (fail closed before any provider is called)
    │   RATE_LIMITED · BUDGET_EXCEEDED · NO_ALLOWED_DEPLOYMENT
    ├── deployment errors (one deployment failed: the router fails over along its plan)
    │   DEPLOYMENT_UNAVAILABLE · UPSTREAM_AUTH · UPSTREAM_NOT_FOUND · UPSTREAM_RATE_LIMITED
    │   UPSTREAM_QUOTA_EXHAUSTED · UPSTREAM_UNAVAILABLE · UPSTREAM_TIMEOUT · UPSTREAM_CONNECT
    │   UPSTREAM_MALFORMED
    └── request-level outcomes
        ALL_CANDIDATES_FAILED (aggregates every attempt) · STREAM_INTERRUPTED · DEADLINE_EXCEEDED
        CANCELLED · SERVICE_UNAVAILABLE · INTERNAL

Each reason travels inside the mesh as a gRPC status with google.rpc.ErrorInfo (domain
"switchyard"), RetryInfo where waiting helps, and the RouteRecord of the attempts made.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TypeAlias

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from switchyard.common.v1 import errors_pb2, route_pb2
from switchyard.runtime.logs import LIMITER

DOMAIN = "switchyard"
_NO_RETRY_KEY = "grpc-retry-pushback-ms"

R = errors_pb2.ErrorReason
Reason: TypeAlias = errors_pb2.ErrorReason.ValueType


@dataclass(frozen=True)
class ReasonInfo:
    """How one ErrorReason shows to gRPC callers, HTTP clients and the router."""

    grpc_code: grpc.StatusCode
    http_status: int
    openai_type: str
    openai_code: str | None
    failover: bool = False


_TABLE: dict[Reason, ReasonInfo] = {
    R.ERROR_REASON_INVALID_REQUEST: ReasonInfo(grpc.StatusCode.INVALID_ARGUMENT, 400, "invalid_request_error", None),
    R.ERROR_REASON_MODEL_NOT_FOUND: ReasonInfo(
        grpc.StatusCode.NOT_FOUND, 404, "invalid_request_error", "model_not_found"
    ),
    R.ERROR_REASON_PAYLOAD_TOO_LARGE: ReasonInfo(
        grpc.StatusCode.INVALID_ARGUMENT, 413, "invalid_request_error", "request_too_large"
    ),
    R.ERROR_REASON_UNAUTHENTICATED: ReasonInfo(
        grpc.StatusCode.UNAUTHENTICATED, 401, "invalid_request_error", "invalid_api_key"
    ),
    R.ERROR_REASON_PERMISSION_DENIED: ReasonInfo(
        grpc.StatusCode.PERMISSION_DENIED, 403, "permission_error", "permission_denied"
    ),
    R.ERROR_REASON_RATE_LIMITED: ReasonInfo(grpc.StatusCode.RESOURCE_EXHAUSTED, 429, "requests", "rate_limit_exceeded"),
    R.ERROR_REASON_BUDGET_EXCEEDED: ReasonInfo(
        grpc.StatusCode.RESOURCE_EXHAUSTED, 429, "insufficient_quota", "budget_exceeded"
    ),
    R.ERROR_REASON_CONTEXT_WINDOW_EXCEEDED: ReasonInfo(
        grpc.StatusCode.INVALID_ARGUMENT, 400, "invalid_request_error", "context_length_exceeded"
    ),
    R.ERROR_REASON_PROMPT_BLOCKED: ReasonInfo(
        grpc.StatusCode.PERMISSION_DENIED, 400, "invalid_request_error", "prompt_blocked"
    ),
    R.ERROR_REASON_NO_ALLOWED_DEPLOYMENT: ReasonInfo(
        grpc.StatusCode.FAILED_PRECONDITION, 403, "permission_error", "no_allowed_deployment"
    ),
    R.ERROR_REASON_DEPLOYMENT_UNAVAILABLE: ReasonInfo(
        grpc.StatusCode.UNAVAILABLE, 503, "server_error", "deployment_unavailable", failover=True
    ),
    R.ERROR_REASON_UPSTREAM_BAD_REQUEST: ReasonInfo(
        grpc.StatusCode.INVALID_ARGUMENT, 400, "invalid_request_error", None
    ),
    R.ERROR_REASON_UPSTREAM_AUTH: ReasonInfo(
        grpc.StatusCode.FAILED_PRECONDITION, 502, "upstream_error", "upstream_auth_failed", failover=True
    ),
    R.ERROR_REASON_UPSTREAM_NOT_FOUND: ReasonInfo(
        grpc.StatusCode.FAILED_PRECONDITION, 502, "upstream_error", "upstream_not_found", failover=True
    ),
    R.ERROR_REASON_UPSTREAM_RATE_LIMITED: ReasonInfo(
        grpc.StatusCode.RESOURCE_EXHAUSTED, 429, "requests", "rate_limit_exceeded", failover=True
    ),
    R.ERROR_REASON_UPSTREAM_QUOTA_EXHAUSTED: ReasonInfo(
        grpc.StatusCode.RESOURCE_EXHAUSTED, 429, "insufficient_quota", "insufficient_quota", failover=True
    ),
    R.ERROR_REASON_UPSTREAM_UNAVAILABLE: ReasonInfo(
        grpc.StatusCode.UNAVAILABLE, 503, "server_error", "upstream_unavailable", failover=True
    ),
    R.ERROR_REASON_UPSTREAM_TIMEOUT: ReasonInfo(
        grpc.StatusCode.UNAVAILABLE, 504, "server_error", "upstream_timeout", failover=True
    ),
    R.ERROR_REASON_UPSTREAM_CONNECT: ReasonInfo(
        grpc.StatusCode.UNAVAILABLE, 502, "server_error", "upstream_connect_failed", failover=True
    ),
    R.ERROR_REASON_UPSTREAM_MALFORMED: ReasonInfo(
        grpc.StatusCode.UNAVAILABLE, 502, "server_error", "upstream_malformed_response", failover=True
    ),
    R.ERROR_REASON_UPSTREAM_CONTENT_FILTERED: ReasonInfo(
        grpc.StatusCode.INVALID_ARGUMENT, 400, "invalid_request_error", "content_filter"
    ),
    R.ERROR_REASON_STREAM_INTERRUPTED: ReasonInfo(grpc.StatusCode.ABORTED, 502, "server_error", "stream_interrupted"),
    R.ERROR_REASON_ALL_CANDIDATES_FAILED: ReasonInfo(
        grpc.StatusCode.UNAVAILABLE, 502, "server_error", "all_candidates_failed"
    ),
    R.ERROR_REASON_DEADLINE_EXCEEDED: ReasonInfo(grpc.StatusCode.DEADLINE_EXCEEDED, 504, "server_error", "timeout"),
    R.ERROR_REASON_CANCELLED: ReasonInfo(grpc.StatusCode.CANCELLED, 499, "server_error", "cancelled"),
    R.ERROR_REASON_SERVICE_UNAVAILABLE: ReasonInfo(
        grpc.StatusCode.UNAVAILABLE, 503, "server_error", "service_unavailable"
    ),
    R.ERROR_REASON_INTERNAL: ReasonInfo(grpc.StatusCode.INTERNAL, 500, "server_error", "internal_error"),
}

# What a bare gRPC status means when it carries no ErrorInfo (a peer crashed, a deadline hit).
_FROM_CODE: dict[grpc.StatusCode, Reason] = {
    grpc.StatusCode.DEADLINE_EXCEEDED: R.ERROR_REASON_DEADLINE_EXCEEDED,
    grpc.StatusCode.CANCELLED: R.ERROR_REASON_CANCELLED,
    grpc.StatusCode.UNAVAILABLE: R.ERROR_REASON_SERVICE_UNAVAILABLE,
    grpc.StatusCode.INVALID_ARGUMENT: R.ERROR_REASON_INVALID_REQUEST,
    grpc.StatusCode.NOT_FOUND: R.ERROR_REASON_MODEL_NOT_FOUND,
    grpc.StatusCode.UNAUTHENTICATED: R.ERROR_REASON_UNAUTHENTICATED,
    grpc.StatusCode.PERMISSION_DENIED: R.ERROR_REASON_PERMISSION_DENIED,
    grpc.StatusCode.RESOURCE_EXHAUSTED: R.ERROR_REASON_RATE_LIMITED,
}


_REASONS_BY_NAME: dict[str, Reason] = {
    name.removeprefix("ERROR_REASON_"): value for name, value in errors_pb2.ErrorReason.items()
}


def info(reason: Reason) -> ReasonInfo:
    """Returns how a reason shows to callers; unknown reasons are internal errors."""
    return _TABLE.get(reason, _TABLE[R.ERROR_REASON_INTERNAL])


def reason_name(reason: Reason) -> str:
    """Returns the short lower-case name of a reason, e.g. "upstream_timeout"."""
    return errors_pb2.ErrorReason.Name(reason).removeprefix("ERROR_REASON_").lower()


@dataclass
class SwitchyardError(Exception):
    """An error of the taxonomy, with what a caller needs to act on it."""

    reason: Reason
    message: str
    retry_after_s: float | None = None
    http_status: int | None = None
    param: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    route: route_pb2.RouteRecord | None = None

    def __post_init__(self) -> None:
        super().__init__(self.message)

    @property
    def info(self) -> ReasonInfo:
        return info(self.reason)

    @property
    def status(self) -> int:
        """Returns the HTTP status for the edge."""
        return self.http_status or self.info.http_status

    @property
    def name(self) -> str:
        return reason_name(self.reason)

    def to_rpc_status(self) -> grpc.Status:
        """Returns a rich gRPC status: code, message, ErrorInfo, RetryInfo and the route record."""
        details = []
        metadata = dict(self.metadata)
        if self.http_status:
            metadata["http_status"] = str(self.http_status)
        if self.param:
            metadata["param"] = self.param
        details.append(_pack(error_details_pb2.ErrorInfo(reason=self.name.upper(), domain=DOMAIN, metadata=metadata)))
        if self.retry_after_s is not None:
            delay = duration_pb2.Duration()
            delay.FromMilliseconds(int(self.retry_after_s * 1000))
            details.append(_pack(error_details_pb2.RetryInfo(retry_delay=delay)))
        if self.route is not None:
            details.append(_pack(self.route))
        status = status_pb2.Status(code=self.info.grpc_code.value[0], message=self.message, details=details)
        # A negative retry pushback tells a gRPC client not to retry (gRFC A6): this error is the service's
        # answer, not a lost call; a channel that retries UNAVAILABLE (the edge's) retries transport failures only.
        rich = rpc_status.to_status(status)
        return _RpcStatus(rich.code, rich.details, (*rich.trailing_metadata, (_NO_RETRY_KEY, "-1")))


def internal_error(exc: BaseException, service: str) -> SwitchyardError:
    """Logs an unexpected exception and returns the INTERNAL error callers see.

    The log gets the traceback once per kind of error (type and raising line), then rate-limited
    lines that count the rest (runtime.logs.LIMITER): a client repeating a request that fails cannot
    flood it. The exception's text stays in the log: it may hold request content or internal detail.
    """
    LIMITER.internal(logging.getLogger(f"switchyard.{service}"), exc)
    return SwitchyardError(R.ERROR_REASON_INTERNAL, f"internal error in the {service} service")


def _pack(message: object) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)  # type: ignore[arg-type]
    return packed


@dataclass(frozen=True)
class _RpcStatus(grpc.Status):  # type: ignore[misc]
    code: grpc.StatusCode
    details: str
    trailing_metadata: tuple[tuple[str, bytes], ...]


def _bare_status(code: grpc.StatusCode, message: str) -> SwitchyardError:
    """Returns the error of a status without ErrorInfo: gRPC's own (a peer crashed, a deadline hit, a limit)."""
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
        # gRPC's size limits, not a rate limit: the same request would fail again, so no 429 (retryable).
        lowered = message.lower()
        if "metadata" in lowered:
            return SwitchyardError(
                R.ERROR_REASON_INVALID_REQUEST, "The request's headers are too large to forward.", http_status=431
            )
        if "larger than max" in lowered:
            return SwitchyardError(R.ERROR_REASON_PAYLOAD_TOO_LARGE, "The request is too large to forward.")
    return SwitchyardError(_FROM_CODE.get(code, R.ERROR_REASON_INTERNAL), message)


def from_rpc_error(error: grpc.RpcError) -> SwitchyardError:
    """Returns the SwitchyardError a peer sent, or one derived from a bare status code."""
    code = error.code()
    message = error.details() or code.name.lower()
    try:
        status = rpc_status.from_call(error)  # type: ignore[arg-type]
    except ValueError:
        # Details that contradict the call's own code or message did not come from a Switchyard service.
        status = None
    if status is None:
        return _bare_status(code, message)
    result = SwitchyardError(_FROM_CODE.get(code, R.ERROR_REASON_INTERNAL), status.message or message)
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            err_info = error_details_pb2.ErrorInfo()
            detail.Unpack(err_info)
            result.reason = _REASONS_BY_NAME.get(err_info.reason, R.ERROR_REASON_INTERNAL)
            meta = dict(err_info.metadata)
            if "http_status" in meta:
                result.http_status = int(meta.pop("http_status"))
            result.param = meta.pop("param", None)
            result.metadata = meta
        elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            retry = error_details_pb2.RetryInfo()
            detail.Unpack(retry)
            result.retry_after_s = retry.retry_delay.ToMilliseconds() / 1000
        elif detail.Is(route_pb2.RouteRecord.DESCRIPTOR):
            route = route_pb2.RouteRecord()
            detail.Unpack(route)
            result.route = route
    return result
