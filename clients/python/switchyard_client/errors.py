"""The errors a Switchyard call raises: one class per kind of failure a caller handles differently.

    SwitchyardError                 any failed call: gRPC code, Switchyard reason, message, retry_after
    ├── AuthenticationError         UNAUTHENTICATED: no key, or a key the gateway does not know
    ├── PermissionDeniedError       PERMISSION_DENIED: the key may not use this model, or the prompt was blocked
    ├── InvalidRequestError         INVALID_ARGUMENT, FAILED_PRECONDITION: the request itself is wrong
    ├── NotFoundError               NOT_FOUND: no such model group, alias or model
    ├── RateLimitError              RESOURCE_EXHAUSTED: a rate limit or budget; retry_after when waiting helps
    ├── UnavailableError            UNAVAILABLE: the gateway or every candidate deployment could not answer
    ├── DeadlineExceededError       DEADLINE_EXCEEDED: the call's timeout passed
    └── StreamInterruptedError      ABORTED: a stream broke after it delivered output (never retried)

The gateway sends each error as a gRPC status with google.rpc.ErrorInfo (domain "switchyard", the reason
such as "MODEL_NOT_FOUND"), google.rpc.RetryInfo when waiting helps, and a `grpc-retry-pushback-ms`
trailer; `from_rpc_error` reads all three.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

_PUSHBACK_KEY = "grpc-retry-pushback-ms"
DOMAIN = "switchyard"


@dataclass
class SwitchyardError(Exception):
    """A failed call: its gRPC code, the gateway's reason (empty when the gateway sent none, as for a
    connection that failed), the message, and what the gateway said about retrying."""

    code: grpc.StatusCode
    message: str
    reason: str = ""
    retry_after: float | None = None
    pushback_ms: int | None = None
    metadata: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        return f"{self.code.name}: {self.message}" + (f" ({self.reason})" if self.reason else "")

    @property
    def from_gateway(self) -> bool:
        """Says whether the gateway itself answered with this error (rather than the connection failing)."""
        return bool(self.reason)


class AuthenticationError(SwitchyardError):
    """The call carried no API key, or one the gateway does not accept."""


class PermissionDeniedError(SwitchyardError):
    """The key may not do this (a model it is not allowed, a prompt the guard blocked)."""


class InvalidRequestError(SwitchyardError):
    """The request is malformed or cannot be served as asked; sending it again fails again."""


class NotFoundError(SwitchyardError):
    """The model group, alias or model named does not exist."""


class RateLimitError(SwitchyardError):
    """A rate limit or budget refused the call; retry_after says when trying again can help."""


class UnavailableError(SwitchyardError):
    """The gateway, or every deployment it tried, could not answer now."""


class DeadlineExceededError(SwitchyardError):
    """The call's timeout passed before it finished."""


class StreamInterruptedError(SwitchyardError):
    """A stream broke after it had delivered output: the answer is incomplete and is not retried."""


_CLASS_BY_CODE: dict[grpc.StatusCode, type[SwitchyardError]] = {
    grpc.StatusCode.UNAUTHENTICATED: AuthenticationError,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDeniedError,
    grpc.StatusCode.INVALID_ARGUMENT: InvalidRequestError,
    grpc.StatusCode.FAILED_PRECONDITION: InvalidRequestError,
    grpc.StatusCode.OUT_OF_RANGE: InvalidRequestError,
    grpc.StatusCode.NOT_FOUND: NotFoundError,
    grpc.StatusCode.RESOURCE_EXHAUSTED: RateLimitError,
    grpc.StatusCode.UNAVAILABLE: UnavailableError,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceededError,
    grpc.StatusCode.ABORTED: StreamInterruptedError,
}


def error_class(code: grpc.StatusCode) -> type[SwitchyardError]:
    """Returns the exception class for a gRPC status code."""
    return _CLASS_BY_CODE.get(code, SwitchyardError)


def from_rpc_error(error: grpc.RpcError) -> SwitchyardError:
    """Returns the typed error for a failed call, with the gateway's ErrorInfo, RetryInfo and pushback."""
    call: grpc.Call = error  # every RpcError that grpc raises is also a Call
    code = call.code()
    failure = error_class(code)(code, call.details() or code.name.lower())
    failure.pushback_ms = _pushback(call.trailing_metadata() or ())
    for detail in _status_details(call):
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            if info.domain == DOMAIN:
                failure.reason, failure.metadata = info.reason, dict(info.metadata)
        elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            retry = error_details_pb2.RetryInfo()
            detail.Unpack(retry)
            failure.retry_after = retry.retry_delay.ToMilliseconds() / 1000
    return failure


def _status_details(call: grpc.Call) -> list[Any]:
    """Returns the details of the rich status a call's trailers carry (none when it carries none)."""
    try:
        status = rpc_status.from_call(call)
    except ValueError:  # a status whose code or message disagrees with the call's: trust the call's
        return []
    return list(status.details) if status is not None else []


def _pushback(trailers: Iterable[tuple[str, str | bytes]]) -> int | None:
    """Returns the `grpc-retry-pushback-ms` trailer as milliseconds (negative: do not retry), or None."""
    for key, value in trailers:
        if key != _PUSHBACK_KEY:
            continue
        try:
            return int(value.decode() if isinstance(value, bytes) else value)
        except ValueError:
            return None
    return None
