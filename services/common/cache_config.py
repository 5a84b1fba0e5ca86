"""The `switchyard.cache` section of the configuration file: what the semantic cache does."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class CacheSection(BaseModel):
    """Cache settings shared by the router and the cache service."""

    model_config = ConfigDict(extra="forbid", frozen=True)
