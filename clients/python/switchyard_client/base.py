"""What the blocking and the asyncio client share: the stub, the key, the default deadline, the retries."""

from __future__ import annotations

from typing import Any, TypeVar

from switchyard_client.connection import auth_metadata
from switchyard_client.protos.router.v1 import router_pb2_grpc
from switchyard_client.retry import Deadline, RetryPolicy

DEFAULT_TIMEOUT = 60.0


class RouterCaller:
    """A RouterService stub on a channel, with the metadata, deadline and retry policy of every call."""

    def __init__(self, channel: Any, api_key: str | None, timeout: float | None, retry: RetryPolicy | None) -> None:
        self._stub = router_pb2_grpc.RouterServiceStub(channel)
        self._metadata = auth_metadata(api_key)
        self._timeout = timeout
        self._retry = retry or RetryPolicy()

    def _deadline(self, timeout: float | None) -> Deadline:
        """Returns the deadline of a call: its own timeout, else the client's."""
        return Deadline(self._timeout if timeout is None else timeout)


class Closing:
    """`with` support for what has a blocking close()."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self: _Closing) -> _Closing:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncClosing:
    """`async with` support for what has a coroutine aclose()."""

    async def aclose(self) -> None:
        raise NotImplementedError

    async def __aenter__(self: _AsyncClosing) -> _AsyncClosing:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


_Closing = TypeVar("_Closing", bound=Closing)
_AsyncClosing = TypeVar("_AsyncClosing", bound=AsyncClosing)
