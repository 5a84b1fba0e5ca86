"""The ledger's history through the whole mesh: answered requests stay in /spend/logs and /spend/report once the
Redis stream no longer holds them, because the router copied them into PostgreSQL."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import psycopg
import pytest
import redis

from tests.postgres_support import fresh_database
from tests.redis_support import throwaway_redis, unique_prefix
from tests.support import Mesh, wait_until_sync

pytestmark = [pytest.mark.mesh, pytest.mark.postgres]

MASTER = "sk-test-master-analytics-0123"


def stored(url: str, ids: list[str]) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT COUNT(*) FROM ledger_records WHERE request_id = ANY(%s)", (ids,)).fetchone()
    return int(row[0]) if row else 0


def test_spend_logs_come_from_the_store_after_the_stream_is_trimmed(tmp_path: Path, postgres_url: str) -> None:
    prefix = unique_prefix("analytics-mesh")
    with throwaway_redis() as server, fresh_database(postgres_url) as database:
        mesh = Mesh(
            tmp_path,
            env={"SWITCHYARD_ROUTER_STATE_PREFIX": prefix},
            general_settings=f"general_settings:\n  master_key: {MASTER}\n",
            switchyard_extra=f'  redis_url: "{server.url}"\n  analytics:\n    url: "{database}"\n    poll_s: 0.2\n',
        ).start()
        try:
            headers = {"authorization": f"Bearer {MASTER}"}
            ids = [f"req-analytics-{uuid.uuid4().hex}" for _ in range(5)]
            with httpx.Client(base_url=mesh.edge_url, headers=headers, timeout=30) as client:
                for request_id in ids:
                    reply = client.post(
                        "/v1/chat/completions",
                        headers={"x-request-id": request_id, "cache-control": "no-cache, no-store"},
                        json={"model": "default", "messages": [{"role": "user", "content": request_id}]},
                    )
                    assert reply.status_code == 200, reply.text
                wait_until_sync(lambda: stored(database, ids) == len(ids), timeout=30, what="the records copied")

                stream = redis.Redis.from_url(server.url)
                try:
                    stream.xtrim(f"{prefix}{{ledger}}", maxlen=0)  # what the cap does to hours-old records
                    assert stream.xlen(f"{prefix}{{ledger}}") == 0
                finally:
                    stream.close()

                logs = client.get("/spend/logs", params={"limit": "1000"})
                assert logs.status_code == 200, logs.text
                assert {row["request_id"] for row in logs.json()} >= set(ids)
                one = client.get("/spend/logs", params={"request_id": ids[2]}).json()
                assert [row["request_id"] for row in one] == [ids[2]]
                report = client.get("/spend/report", params={"group_by": "model"})
                assert report.status_code == 200, report.text
                assert sum(_requests(report.json())) >= len(ids)
        finally:
            mesh.stop()


def _requests(rows: object) -> list[int]:
    """Returns the request counts of a /spend/report body (a list of rows, each with `requests`)."""
    assert isinstance(rows, list), rows
    return [int(row.get("requests", 0)) for row in rows if isinstance(row, dict)]
