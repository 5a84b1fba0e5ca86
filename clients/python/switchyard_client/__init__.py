"""switchyard_client: call a Switchyard gateway's router over gRPC, with typed results, deadlines, retries
on the gateway's terms and streaming.

    from switchyard_client import Client, TLSConfig

    tls = TLSConfig(ca="tls/ca.crt", cert="tls/client.crt", key="tls/client.key")
    with Client("127.0.0.1:50051", api_key="sk-...", tls=tls, timeout=30) as client:
        print(client.chat("default", [{"role": "user", "content": "Hi"}]).text)
        for chunk in client.chat_stream("fast", [{"role": "user", "content": "Hi"}]):
            print(chunk.text, end="")

The stubs of the contract (switchyard.router.v1, switchyard.common.v1) are in switchyard_client.protos.
"""

from switchyard_client.aio import AsyncChatStream, AsyncClient
from switchyard_client.chat import ChatChunk, ChatOptions, ChatResult, Message, Route, ToolCall, Usage
from switchyard_client.client import ChatStream, Client
from switchyard_client.connection import TLSConfig
from switchyard_client.errors import (
    AuthenticationError,
    DeadlineExceededError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    StreamInterruptedError,
    SwitchyardError,
    UnavailableError,
)
from switchyard_client.retry import NO_RETRIES, RetryPolicy

__all__ = [
    "NO_RETRIES",
    "AsyncChatStream",
    "AsyncClient",
    "AuthenticationError",
    "ChatChunk",
    "ChatOptions",
    "ChatResult",
    "ChatStream",
    "Client",
    "DeadlineExceededError",
    "InvalidRequestError",
    "Message",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RetryPolicy",
    "Route",
    "StreamInterruptedError",
    "SwitchyardError",
    "TLSConfig",
    "ToolCall",
    "UnavailableError",
    "Usage",
]
__version__ = "0.1.0"
