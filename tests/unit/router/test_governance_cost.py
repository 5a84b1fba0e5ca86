"""What a request costs: cached prompt tokens at their own price, usage counted when a stream reports none,
and the budget alerts' webhook (a real HTTP server receiving the JSON)."""

from __future__ import annotations

import asyncio
import json
import time

from switchyard.common.v1 import chat_pb2
from switchyard.config import ModelEntry
from switchyard.services.router.governance.alerts import AlertSink
from switchyard.services.router.governance.budgets import lines_of
from switchyard.services.router.governance.model import Alert, Allowance, Cap, KeyRecord
from switchyard.services.router.record import cost_of, counted_usage
from tests.support import wait_until

ENTRY = ModelEntry.model_validate(
    {
        "model_name": "g",
        "litellm_params": {"model": "openai/g"},
        "model_info": {
            "input_cost_per_token": 2e-6,
            "output_cost_per_token": 1e-5,
            "cache_read_input_token_cost": 5e-7,
        },
    }
)


def test_cached_prompt_tokens_cost_the_cache_read_price() -> None:
    usage = chat_pb2.Usage(prompt_tokens=1000, completion_tokens=10, total_tokens=1010)
    usage.prompt_tokens_details.cached_tokens = 800
    assert cost_of(ENTRY, usage) == 200 * 2e-6 + 800 * 5e-7 + 10 * 1e-5
    unpriced = ModelEntry.model_validate(
        {"model_name": "g", "litellm_params": {"model": "openai/g"}, "model_info": {"input_cost_per_token": 2e-6}}
    )
    assert cost_of(unpriced, usage) == 1000 * 2e-6  # no cache price: every prompt token at the input price


def test_an_answer_without_usage_is_counted_by_the_router() -> None:
    completion = chat_pb2.ChatCompletion(
        choices=[chat_pb2.Choice(message=chat_pb2.ChatMessage(role=chat_pb2.ROLE_ASSISTANT, text="x" * 41))]
    )
    usage = counted_usage(completion, prompt_tokens=12)
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (12, 11, 23)
    assert cost_of(ENTRY, usage) > 0


async def test_alerts_are_posted_to_the_webhook_without_blocking() -> None:
    received: list[dict[str, object]] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
        )
        received.append(json.loads(await reader.readexactly(length)))
        writer.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    sink = AlertSink(f"http://127.0.0.1:{port}/alerts")
    key = KeyRecord(token="t" * 64, key_prefix="sk-sy-abcdef", limits=Allowance(budgets=(Cap("daily", 10.0, 5.0),)))
    (line,) = lines_of(key, None, {}, time.time())
    started = time.perf_counter()
    sink.send([Alert(line, "soft", "80", 4.2)])
    assert time.perf_counter() - started < 0.05  # the post runs in the background
    await wait_until(lambda: bool(received), timeout=5, what="the webhook to receive the alert")
    await sink.close()
    server.close()
    assert received == [
        {
            "event": "budget_alert",
            "scope": "key",
            "id": "sk-sy-abcdef",
            "window": "daily",
            "window_start": line.start_s,
            "window_end": line.end_s,
            "cap": "soft",
            "cap_usd": 5.0,
            "level": "80",
            "spent_usd": 4.2,
        }
    ]
