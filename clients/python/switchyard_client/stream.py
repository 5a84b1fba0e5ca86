"""What a streamed completion has told so far, besides its chunks: the route and the usage."""

from __future__ import annotations

from switchyard_client.chat import ChatChunk, Route, Usage, chunks_of, route_of
from switchyard_client.protos.router.v1 import router_pb2


class StreamState:
    """The route (set by the first message, completed by the last) and usage of a stream so far."""

    def __init__(self) -> None:
        self.route: Route | None = None
        self.usage: Usage | None = None
        self.text = ""

    def take(self, message: router_pb2.StreamChatCompletionResponse) -> list[ChatChunk]:
        """Records what message says about the stream and returns its chunks."""
        if message.HasField("route"):
            self.route = route_of(message.route)
        chunks = chunks_of(message)
        for chunk in chunks:
            self.text += chunk.text
            self.usage = chunk.usage or self.usage
        return chunks
