"""Completions ⇄ chunks: assemble a streamed answer for the cache, replay a cached one as a stream,
and wait for the first token of a live one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable

from switchyard.common.v1 import chat_pb2
from switchyard.providers.v1 import providers_pb2

FINISH_UNSET = chat_pb2.FINISH_REASON_UNSPECIFIED


def assemble(chunks: Iterable[chat_pb2.ChatCompletionChunk]) -> chat_pb2.ChatCompletion:
    """Returns the completion a sequence of chunks spells out (content, tool calls, finish, usage)."""
    completion = chat_pb2.ChatCompletion()
    choices: dict[int, chat_pb2.Choice] = {}
    texts: dict[int, list[str]] = {}
    for chunk in chunks:
        if not completion.id:
            completion.id, completion.created, completion.model = chunk.id, chunk.created, chunk.model
        if chunk.HasField("usage"):
            completion.usage.CopyFrom(chunk.usage)
        for part in chunk.choices:
            choice = choices.get(part.index)
            if choice is None:
                choice = choices[part.index] = chat_pb2.Choice(index=part.index)
                choice.message.role = chat_pb2.ROLE_ASSISTANT
            if part.delta.HasField("content"):
                texts.setdefault(part.index, []).append(part.delta.content)
            for delta in part.delta.tool_calls:
                while len(choice.message.tool_calls) <= delta.index:
                    choice.message.tool_calls.add(type="function")
                call = choice.message.tool_calls[delta.index]
                if delta.HasField("id"):
                    call.id = delta.id
                if delta.function.HasField("name"):
                    call.function.name = delta.function.name
                if delta.function.HasField("arguments"):
                    call.function.arguments += delta.function.arguments
            if part.finish_reason != FINISH_UNSET:
                choice.finish_reason = part.finish_reason
    for index, parts in texts.items():
        choices[index].message.text = "".join(parts)
    completion.choices.extend(choices[i] for i in sorted(choices))
    return completion


def replay(completion: chat_pb2.ChatCompletion, include_usage: bool) -> list[chat_pb2.ChatCompletionChunk]:
    """Returns the chunks a live stream of this completion would have carried, in OpenAI's order."""

    def chunk() -> chat_pb2.ChatCompletionChunk:
        return chat_pb2.ChatCompletionChunk(id=completion.id, created=completion.created, model=completion.model)

    chunks: list[chat_pb2.ChatCompletionChunk] = []
    for choice in completion.choices:
        first = chunk()
        delta = first.choices.add(index=choice.index).delta
        delta.role = chat_pb2.ROLE_ASSISTANT
        delta.content = ""
        chunks.append(first)
        if choice.message.WhichOneof("content") == "text" and choice.message.text:
            body = chunk()
            body.choices.add(index=choice.index).delta.content = choice.message.text
            chunks.append(body)
        for number, call in enumerate(choice.message.tool_calls):
            calls = chunk()
            tool = calls.choices.add(index=choice.index).delta.tool_calls.add(index=number, id=call.id, type="function")
            tool.function.name = call.function.name
            tool.function.arguments = call.function.arguments
            chunks.append(calls)
        last = chunk()
        last.choices.add(index=choice.index, finish_reason=choice.finish_reason or chat_pb2.FINISH_REASON_STOP)
        chunks.append(last)
    if include_usage:
        usage = chunk()
        usage.usage.CopyFrom(completion.usage)
        chunks.append(usage)
    return chunks


def carries_output(message: providers_pb2.StreamGenerateResponse) -> bool:
    """Returns whether a provider stream message holds a token or the stream's end.

    A role-only opening chunk (`{"role": "assistant", "content": ""}`) is not a token: a deployment
    that sends it and then stalls has not started answering.
    """
    if message.HasField("upstream"):
        return True
    for chunk in message.chunks:
        if chunk.HasField("usage"):
            return True
        for choice in chunk.choices:
            delta = choice.delta
            if choice.finish_reason or delta.content or delta.tool_calls or delta.refusal or delta.reasoning:
                return True
    return False


async def first_token(
    upstream: AsyncIterator[providers_pb2.StreamGenerateResponse], limit: float
) -> list[providers_pb2.StreamGenerateResponse]:
    """Returns a stream's messages up to the first that carries a token; raises TimeoutError past limit seconds."""
    head: list[providers_pb2.StreamGenerateResponse] = []
    async with asyncio.timeout(limit):
        async for message in upstream:
            head.append(message)
            if carries_output(message):
                return head
    return head  # the stream ended without a token: an empty answer is still a whole one
