"""Consumes samples off the router's Redis stream (`<prefix>evaluation`) with a consumer group.

Each entry's `sample` field is a serialized switchyard.evaluator.v1.Sample. Entries are acknowledged
once queued (a full queue drops them, counted): grading is a sample, so a lost entry costs nothing
a retry would be worth. A Redis outage is logged once and retried with a capped backoff.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

from switchyard.evaluator.v1 import evaluator_pb2
from switchyard.services.evaluator.convert import sample_of
from switchyard.services.evaluator.core import Evaluator

log = logging.getLogger(__name__)
STREAM = "evaluation"
# The stream's client: how long connecting may take, and how long a reply, which arrives only after
# consume's block_ms when the stream is idle.
STREAM_CONNECT_S = 2.0
STREAM_READ_S = 5.0


async def consume(client: aioredis.Redis, key: str, group: str, evaluator: Evaluator, block_ms: int = 1000) -> None:
    """Moves samples from the stream into the evaluator until cancelled."""
    consumer = f"{socket.gethostname()}-{id(evaluator)}"
    backoff, down = 0.1, False
    while True:
        try:
            await _ensure_group(client, key, group)
            replies: Any = await client.xreadgroup(group, consumer, {key: ">"}, count=100, block=block_ms)
        except RedisError as exc:
            if not down:
                log.warning("the evaluation stream %s cannot be read (%s); retrying", key, exc)
            down = True
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)
            continue
        if down:
            log.warning("the evaluation stream %s can be read again", key)
        down, backoff = False, 0.1
        for _stream, entries in replies or ():
            ids = []
            for entry_id, fields in entries:
                ids.append(entry_id)
                raw = fields.get(b"sample") or fields.get("sample")
                if raw:
                    evaluator.offer(sample_of(evaluator_pb2.Sample.FromString(raw)))
            if ids:
                await client.xack(key, group, *ids)


async def _ensure_group(client: aioredis.Redis, key: str, group: str) -> None:
    try:
        await client.xgroup_create(key, group, id="$", mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise
