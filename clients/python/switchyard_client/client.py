"""Client: the blocking Switchyard client. Each call has a deadline (the client's timeout unless the call
names its own) that covers every attempt, and is retried only as `switchyard_client.retry` allows."""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Sequence
from typing import Any, TypeVar

import grpc

from switchyard_client.base import DEFAULT_TIMEOUT, Closing, RouterCaller
from switchyard_client.chat import ChatChunk, ChatOptions, ChatResult, MessageLike, chat_call, result_of, stream_call
from switchyard_client.connection import TLSConfig, open_channel
from switchyard_client.errors import from_rpc_error
from switchyard_client.protos.common.v1.context_pb2 import RequestContext
from switchyard_client.protos.router.v1 import router_pb2
from switchyard_client.retry import Deadline, RetryPolicy, retry_delay
from switchyard_client.stream import StreamState

T = TypeVar("T")
StreamMessages = Generator[router_pb2.StreamChatCompletionResponse, None, None]


class Client(RouterCaller, Closing):
    """A connection to a Switchyard router (`host:port`), presenting api_key on every call."""

    def __init__(
        self,
        target: str,
        *,
        api_key: str | None = None,
        tls: TLSConfig | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        channel_options: Sequence[tuple[str, Any]] = (),
    ) -> None:
        self._channel = open_channel(target, tls, channel_options)
        super().__init__(self._channel, api_key, timeout, retry)

    def chat(
        self,
        model: str,
        messages: Sequence[MessageLike],
        *,
        options: ChatOptions | None = None,
        context: RequestContext | None = None,
        timeout: float | None = None,
    ) -> ChatResult:
        """Returns the completion of messages by a model group, alias or model; raises SwitchyardError."""
        request = chat_call(model, messages, options, context)
        send = self._stub.ChatCompletion
        return result_of(self._with_retries(lambda t: send(request, timeout=t, metadata=self._metadata), timeout))

    def chat_stream(
        self,
        model: str,
        messages: Sequence[MessageLike],
        *,
        options: ChatOptions | None = None,
        context: RequestContext | None = None,
        timeout: float | None = None,
    ) -> ChatStream:
        """Returns the streamed completion of messages, an iterator of chunks; raises SwitchyardError while
        iterating. A stream that broke after delivering chunks is never sent again."""
        return ChatStream(self._stream(stream_call(model, messages, options, context), self._deadline(timeout)))

    def close(self) -> None:
        self._channel.close()

    def _with_retries(self, send: Callable[[float | None], T], timeout: float | None) -> T:
        deadline = self._deadline(timeout)
        attempt = 0
        while True:
            attempt += 1
            try:
                return send(deadline.remaining())
            except grpc.RpcError as exc:
                error = from_rpc_error(exc)
                delay = retry_delay(error, attempt, self._retry, deadline.remaining())
                if delay is None:
                    raise error from None
            time.sleep(delay)

    def _stream(self, request: router_pb2.StreamChatCompletionRequest, deadline: Deadline) -> StreamMessages:
        attempt = 0
        while True:
            attempt += 1
            delivered = False
            call = self._stub.StreamChatCompletion(request, timeout=deadline.remaining(), metadata=self._metadata)
            try:
                for message in call:
                    delivered = delivered or bool(message.chunks)
                    yield message
                return
            except grpc.RpcError as exc:
                error = from_rpc_error(exc)
                delay = None if delivered else retry_delay(error, attempt, self._retry, deadline.remaining())
                if delay is None:
                    raise error from None
            finally:
                call.cancel()
            time.sleep(delay)


class ChatStream(StreamState, Closing):
    """The chunks of a streamed completion, in order; `route`, `usage` and `text` hold what has arrived.
    `close()` (or leaving a `with` block) cancels the call."""

    def __init__(self, messages: StreamMessages) -> None:
        super().__init__()
        self._messages = messages
        self._ready: list[ChatChunk] = []

    def __iter__(self) -> ChatStream:
        return self

    def __next__(self) -> ChatChunk:
        while not self._ready:
            self._ready = self.take(next(self._messages))
        return self._ready.pop(0)

    def close(self) -> None:
        self._messages.close()
