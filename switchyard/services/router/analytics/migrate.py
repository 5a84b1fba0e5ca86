"""Applies the analytics schema's versioned migrations (yoyo, the files in migrations/) to either engine."""

from __future__ import annotations

import logging
from pathlib import Path

from yoyo import get_backend, read_migrations

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).parent / "migrations"


def yoyo_url(url: str) -> str:
    """Returns the URL yoyo opens for a store URL: PostgreSQL through psycopg 3."""
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url.removeprefix(scheme)
    return url


def migrate(url: str) -> list[str]:
    """Applies the migrations the database at url lacks (under yoyo's lock, so replicas may race); returns their ids."""
    backend = get_backend(yoyo_url(url))
    try:
        migrations = read_migrations(str(MIGRATIONS))
        with backend.lock():
            missing = backend.to_apply(migrations)
            backend.apply_migrations(missing)
        applied = [migration.id for migration in missing]
        if applied:
            log.info("analytics: schema migrations applied: %s", ", ".join(applied))
        return applied
    finally:
        backend.connection.close()
