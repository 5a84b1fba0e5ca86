"""AsyncClient: the asyncio twin of Client, with the same deadlines, retries and results."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from typing import Any, TypeVar

from grpc import aio

from switchyard_client.base import DEFAULT_TIMEOUT, AsyncClosing, RouterCaller
from switchyard_client.chat import ChatChunk, ChatOptions, ChatResult, MessageLike, chat_call, result_of, stream_call
from switchyard_client.connection import TLSConfig, open_aio_channel
from switchyard_client.errors import from_rpc_error
from switchyard_client.protos.common.v1.context_pb2 import RequestContext
from switchyard_client.protos.router.v1 import router_pb2
from switchyard_client.retry import Deadline, RetryPolicy, retry_delay
from switchyard_client.stream import StreamState

T = TypeVar("T")
AsyncStreamMessages = AsyncGenerator[router_pb2.StreamChatCompletionResponse, None]


class AsyncClient(RouterCaller, AsyncClosing):
    """An asyncio connection to a Switchyard router; open it inside a running event loop."""

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
        self._channel = open_aio_channel(target, tls, channel_options)
        super().__init__(self._channel, api_key, timeout, retry)

    async def chat(
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
        return result_of(await self._with_retries(lambda t: send(request, timeout=t, metadata=self._metadata), timeout))

    def chat_stream(
        self,
        model: str,
        messages: Sequence[MessageLike],
        *,
        options: ChatOptions | None = None,
        context: RequestContext | None = None,
        timeout: float | None = None,
    ) -> AsyncChatStream:
        """Returns the streamed completion of messages, an async iterator of chunks (see Client.chat_stream)."""
        return AsyncChatStream(self._stream(stream_call(model, messages, options, context), self._deadline(timeout)))

    async def aclose(self) -> None:
        await self._channel.close()

    close = aclose

    async def _with_retries(self, send: Callable[[float | None], Awaitable[T]], timeout: float | None) -> T:
        deadline = self._deadline(timeout)
        attempt = 0
        while True:
            attempt += 1
            try:
                return await send(deadline.remaining())
            except aio.AioRpcError as exc:
                error = from_rpc_error(exc)
                delay = retry_delay(error, attempt, self._retry, deadline.remaining())
                if delay is None:
                    raise error from None
            await asyncio.sleep(delay)

    async def _stream(self, request: router_pb2.StreamChatCompletionRequest, deadline: Deadline) -> AsyncStreamMessages:
        attempt = 0
        while True:
            attempt += 1
            delivered = False
            call = self._stub.StreamChatCompletion(request, timeout=deadline.remaining(), metadata=self._metadata)
            try:
                async for message in call:
                    delivered = delivered or bool(message.chunks)
                    yield message
                return
            except aio.AioRpcError as exc:
                error = from_rpc_error(exc)
                delay = None if delivered else retry_delay(error, attempt, self._retry, deadline.remaining())
                if delay is None:
                    raise error from None
            finally:
                call.cancel()
            await asyncio.sleep(delay)


class AsyncChatStream(StreamState, AsyncClosing):
    """The chunks of a streamed completion, as an async iterator; `route`, `usage` and `text` hold what
    has arrived. `aclose()` (or leaving an `async with` block) cancels the call."""

    def __init__(self, messages: AsyncStreamMessages) -> None:
        super().__init__()
        self._messages = messages
        self._ready: list[ChatChunk] = []

    def __aiter__(self) -> AsyncChatStream:
        return self

    async def __anext__(self) -> ChatChunk:
        while not self._ready:
            self._ready = self.take(await self._messages.__anext__())
        return self._ready.pop(0)

    async def aclose(self) -> None:
        await self._messages.aclose()
