"""Typed settings of a fake provider run as a program; command-line flags override them."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

Wire = Literal["openai", "anthropic", "gemini", "azure", "mistral", "ollama", "bedrock", "vertex"]


class FakeSettings(BaseSettings):
    """Which vendor the fake speaks, where it listens and how it answers by default (SWITCHYARD_FAKE_*)."""

    model_config = SettingsConfigDict(env_prefix="SWITCHYARD_FAKE_", extra="ignore", frozen=True)

    wire: Wire = "openai"
    host: str = "127.0.0.1"
    port: int = Field(default=9700, ge=0, le=65535)
    latency_ms: float = Field(default=0.0, ge=0)
    chunks: int = Field(default=4, ge=1)
