"""The judge, asked through the router's front door like any client (RouterService.ChatCompletion).

The evaluator presents its own certificate (role `evaluator`) and, when auth is on, the master key,
so the judge's calls are governed, routed, failed over and ledgered as every other request is.
"""

from __future__ import annotations

import uuid

import grpc
from grpc import aio

from switchyard.common.v1 import chat_pb2, context_pb2
from switchyard.router.v1 import router_pb2, router_pb2_grpc
from switchyard.services.evaluator.core import JudgeUnavailable


class RouterJudge:
    """Asks the judge model group for a reply through the router."""

    def __init__(self, router: aio.Channel, group: str, authorization: str, timeout: float) -> None:
        self._stub = router_pb2_grpc.RouterServiceStub(router)
        self._group, self._timeout = group, timeout
        self._metadata = (("authorization", authorization),) if authorization else ()

    async def ask(self, system: str, prompt: str) -> str:
        request = chat_pb2.ChatRequest(
            model=self._group,
            messages=[
                chat_pb2.ChatMessage(role=chat_pb2.ROLE_SYSTEM, text=system),
                chat_pb2.ChatMessage(role=chat_pb2.ROLE_USER, text=prompt),
            ],
            temperature=0.0,
        )
        context = context_pb2.RequestContext(request_id=f"judge-{uuid.uuid4().hex}", feature="evaluation")
        try:
            reply = await self._stub.ChatCompletion(
                router_pb2.ChatCompletionRequest(request=request, context=context),
                timeout=self._timeout,
                metadata=self._metadata,
            )
        except grpc.RpcError as exc:
            raise JudgeUnavailable(f"{exc.code().name}: {exc.details()}") from exc
        choices = reply.completion.choices
        return choices[0].message.text if choices else ""
