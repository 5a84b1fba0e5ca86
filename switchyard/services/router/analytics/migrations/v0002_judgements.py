"""Quality judgements, one row per request and kind: a judge's grade or a user's feedback, scaled to [0, 1].

`switchyard train-router --from-store` refits each deployment's quality per classifier category from them.
"""

from __future__ import annotations

from typing import Any

from yoyo import step

__depends__ = {"v0001_ledger_records"}


def apply(conn: Any) -> None:
    cursor = conn.cursor()
    cursor.execute(
        "CREATE TABLE judgements ("
        " request_id TEXT NOT NULL, kind TEXT NOT NULL, time_ms BIGINT NOT NULL,"
        " deployment TEXT NOT NULL, category TEXT NOT NULL, score DOUBLE PRECISION NOT NULL,"
        " PRIMARY KEY (request_id, kind))"
    )
    cursor.execute("CREATE INDEX judgements_time ON judgements (time_ms)")


def rollback(conn: Any) -> None:
    conn.cursor().execute("DROP TABLE judgements")


steps = [step(apply, rollback)]
