"""The ledger's records, one row per request_id, and the Redis stream position copied so far."""

from __future__ import annotations

from typing import Any

from yoyo import step

DIMENSION_COLUMNS = ("model", "deployment", "provider", "team", "app", "feature", "key_prefix")


def apply(conn: Any) -> None:
    blob = "BLOB" if type(conn).__module__.startswith("sqlite3") else "BYTEA"
    dims = ", ".join(f"{name} TEXT NOT NULL" for name in DIMENSION_COLUMNS)
    cursor = conn.cursor()
    cursor.execute(
        "CREATE TABLE ledger_records ("
        " request_id TEXT PRIMARY KEY, time_ms BIGINT NOT NULL, day TEXT NOT NULL, "
        f"{dims}, "
        " errors BIGINT NOT NULL, cache_hits BIGINT NOT NULL, failovers BIGINT NOT NULL,"
        " prompt_tokens BIGINT NOT NULL, completion_tokens BIGINT NOT NULL,"
        " cost_usd DOUBLE PRECISION NOT NULL, saved_usd DOUBLE PRECISION NOT NULL,"
        f" record {blob} NOT NULL)"
    )
    cursor.execute("CREATE INDEX ledger_records_time ON ledger_records (time_ms)")
    cursor.execute("CREATE INDEX ledger_records_day ON ledger_records (day)")
    cursor.execute("CREATE INDEX ledger_records_team_time ON ledger_records (team, time_ms)")
    cursor.execute(
        "CREATE TABLE ledger_stream_cursor (stream TEXT PRIMARY KEY, ms BIGINT NOT NULL, seq BIGINT NOT NULL)"
    )


def rollback(conn: Any) -> None:
    cursor = conn.cursor()
    cursor.execute("DROP TABLE ledger_stream_cursor")
    cursor.execute("DROP TABLE ledger_records")


steps = [step(apply, rollback)]
