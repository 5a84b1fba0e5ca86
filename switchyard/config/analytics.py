"""The `switchyard.analytics` section: the durable store that keeps the cost ledger's history.

The ledger's Redis stream is capped (hours of traffic); the analytics store keeps every record for
as long as the database does, and /spend/logs and /spend/report read it when it is configured.

    url: ""                                  off: spend is read from the ledger alone
    url: sqlite://                           SQLite in the per-user state directory (the embedded default)
    url: sqlite:////var/lib/switchyard/a.db  SQLite at that path
    url: postgresql://user@host:5432/db      PostgreSQL (compose, Kubernetes); os.environ/NAME works too
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, field_validator

from switchyard.config.base import Section
from switchyard.config.secrets import ENV_PREFIX

SCHEMES = ("sqlite://", "postgresql://", "postgres://")


def state_dir(environ: dict[str, str] | None = None) -> Path:
    """Returns the per-user state directory: $XDG_STATE_HOME/switchyard, else ~/.local/state/switchyard."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "switchyard"


class AnalyticsSection(Section):
    """Where the ledger's history is kept, and how it is copied there."""

    url: str = ""
    # batch: the most records one database write carries; buffer: the most records waiting in this
    # process (the embedded default, whose ledger has no Redis stream to fall back on).
    batch: int = Field(default=500, gt=0)
    buffer: int = Field(default=100_000, gt=0)
    # poll_s: how often the copier looks at the Redis stream for other replicas' records.
    poll_s: float = Field(default=1.0, gt=0)
    # retry_min_s / retry_max_s: the jittered backoff while the database is unreachable.
    retry_min_s: float = Field(default=0.1, gt=0)
    retry_max_s: float = Field(default=10.0, gt=0)

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if value and not value.startswith(ENV_PREFIX) and not value.startswith(SCHEMES):
            raise ValueError(f"analytics.url must start with one of {', '.join(SCHEMES)} (or be empty)")
        return value
