"""The ledger's durable history: an analytics store (SQLite or PostgreSQL) that /spend/logs and /spend/report read.

base.py            rows, the stream cursor, the SQL both engines share, the HistoryStore contract
sqlite_store.py    SQLite (stdlib sqlite3): the embedded default, in the per-user state directory
postgres_store.py  PostgreSQL (psycopg 3, async): compose and Kubernetes
migrate.py         the versioned schema (yoyo; migrations/ holds one file per version)
writer.py          the copier: from the ledger's Redis stream (or, without Redis, the ledger's batches)

    history = open_history(config.switchyard.analytics, redis_url, prefix)   # None when not configured
    ledger = Ledger(store, history=history)   # the ledger hands the copier what it wrote; reads come from the store
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote

from switchyard.config.analytics import AnalyticsSection, state_dir
from switchyard.config.secrets import resolve_secret
from switchyard.redisutil import new_client
from switchyard.services.router.analytics.base import HistoryStore
from switchyard.services.router.analytics.postgres_store import PostgresHistory
from switchyard.services.router.analytics.sqlite_store import SqliteHistory
from switchyard.services.router.analytics.writer import BufferSource, Copier, Source, StreamSource
from switchyard.services.router.governance.ledger_redis import stream_key

SQLITE_FILE = "analytics.sqlite3"


def open_store(url: str) -> HistoryStore:
    """Returns the store at url: sqlite:// (the per-user state directory), sqlite:///path, or postgresql://..."""
    if url.startswith("sqlite://"):
        # As SQLAlchemy spells it: sqlite:///relative/path, sqlite:////absolute/path.
        path = unquote(url.removeprefix("sqlite://").removeprefix("/"))
        return SqliteHistory(Path(path).resolve() if path else state_dir() / SQLITE_FILE)
    return PostgresHistory(url)


def open_history(section: AnalyticsSection, redis_url: str | None, prefix: str, timeout: float = 0.5) -> Copier | None:
    """Returns the copier (not started) into the configured store, or None when analytics.url is empty.

    With redis_url, it copies the ledger's stream under prefix; else what this process's ledger wrote.
    Raises ValueError when the url names an environment variable that is not set.
    """
    url, missing = resolve_secret(section.url, os.environ)
    if missing:
        raise ValueError(f"analytics.url: the environment variable {missing} is not set")
    if not url:
        return None
    store = open_store(url)
    source: Source
    if redis_url:
        source = StreamSource(new_client(redis_url, timeout), stream_key(prefix), store, section.poll_s)
    else:
        source = BufferSource(section.buffer)
    return Copier(store, source, batch=section.batch, retry_min_s=section.retry_min_s, retry_max_s=section.retry_max_s)


__all__ = ["Copier", "HistoryStore", "open_history", "open_store"]
